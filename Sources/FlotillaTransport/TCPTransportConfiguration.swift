import FlotillaRaft
import FlotillaTLS

public struct TCPTransportConfiguration: Sendable {
    public var nodeID: ReplicaID
    /// Zero on a host that joins an existing cluster: it adopts the identity of the first
    /// peer that contacts it.
    public var clusterID: UInt64
    /// Where peers reach this host (`--raft-addr`).
    public var listenHost: String
    public var listenPort: Int
    /// Frames queued or in the socket for one peer beyond this are dropped (Raft retries).
    public var peerQueueBytesMax: Int = 64 << 20
    public var reconnectDelayMillisecondsMin: Int = 50
    public var reconnectDelayMillisecondsMax: Int = 2_000
    /// Snapshot chunks in flight per transfer before waiting for acknowledgements.
    public var snapshotChunksInFlightMax: Int = 4
    public var snapshotChunkBytes: Int = 1 << 20
    /// Directory for incoming snapshot chunks.
    public var snapshotReceiveDirectory: String
    public var forwardTimeoutMilliseconds: Int = 10_000
    /// The raft address peers should use for this host (sent in the hello).
    public var advertisedAddress: String = ""
    /// The cluster's shard count, zero when unknown (a joining host).
    public var shardCount: UInt64 = 0
    /// Mutual TLS on every connection between hosts (`--tls-cert`, `--tls-key`, `--tls-ca`);
    /// nil: plain TCP.
    public var tls: TLSContexts?

    public init(nodeID: ReplicaID, clusterID: UInt64, listenHost: String, listenPort: Int, snapshotReceiveDirectory: String) {
        self.nodeID = nodeID
        self.clusterID = clusterID
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.snapshotReceiveDirectory = snapshotReceiveDirectory
    }
}

/// Counters an operator (and a test) can read.
public struct TCPTransportStatistics: Sendable, Equatable {
    public var framesCorrupt = 0
    public var messagesDropped = 0
    public var connectionsRefused = 0
    public var connectionsOpened = 0
}
