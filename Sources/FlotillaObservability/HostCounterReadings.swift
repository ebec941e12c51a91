/// The host's cumulative counters read at one moment (atomics of the host, the transport, the
/// store and the client server), so that `HostMetrics` can be fed by a test as by a host.
public struct HostCounterReadings: Sendable, Equatable {
    public var electionsStarted: UInt64 = 0
    public var busyRefusals: UInt64 = 0
    public var logStoreSyncs: UInt64 = 0
    public var transportBytesReceived: UInt64 = 0
    public var transportBytesSent: UInt64 = 0
    public var transportMessagesDropped: UInt64 = 0
    public var snapshotBytesReceived: UInt64 = 0
    public var snapshotBytesSent: UInt64 = 0
    public var tlsHandshakesRefused: UInt64 = 0
    public var relayedRequests: UInt64 = 0

    public init() {}
}
