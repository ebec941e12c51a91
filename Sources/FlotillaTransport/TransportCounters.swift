import Synchronization

/// Bytes on the wire between hosts, counted by the frame encoder and decoder with relaxed
/// atomics: one add per frame, no lock, so the metrics endpoint can read them cheaply.
public final class TransportCounters: Sendable {
    /// Every frame's bytes, header included.
    public let bytesReceived = Atomic<UInt64>(0)
    public let bytesSent = Atomic<UInt64>(0)
    /// The bytes of snapshot chunks alone (a subset of the above).
    public let snapshotBytesReceived = Atomic<UInt64>(0)
    public let snapshotBytesSent = Atomic<UInt64>(0)
    /// TLS handshakes with peers that failed, either way (a certificate the CA did not sign,
    /// a peer that refused ours, plain TCP on the raft port).
    public let tlsHandshakesRefused = Atomic<UInt64>(0)
    /// Client requests this host relayed toward a shard's leader on another host (counted by
    /// the router, which alone knows a relay from the other forwarded frames): what a client
    /// that sends each request to its leader's host (`ROUTES`) keeps flat.
    public let relayedRequests = Atomic<UInt64>(0)

    public init() {}

    func countSent(_ frame: TransportFrame) {
        let bytes = UInt64(TransportFrame.headerBytes + frame.body.count)
        bytesSent.wrappingAdd(bytes, ordering: .relaxed)
        if frame.kind == .snapshotChunk { snapshotBytesSent.wrappingAdd(bytes, ordering: .relaxed) }
    }

    func countReceived(_ frame: TransportFrame) {
        let bytes = UInt64(TransportFrame.headerBytes + frame.body.count)
        bytesReceived.wrappingAdd(bytes, ordering: .relaxed)
        if frame.kind == .snapshotChunk { snapshotBytesReceived.wrappingAdd(bytes, ordering: .relaxed) }
    }
}
