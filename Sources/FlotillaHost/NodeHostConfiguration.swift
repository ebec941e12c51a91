import FlotillaRaft
#if canImport(Glibc)
import Glibc
#endif

/// How a NodeHost runs. Times are in milliseconds of the host's logical clock.
public struct NodeHostConfiguration: Sendable {
    public var nodeID: ReplicaID
    public var clusterID: UInt64
    /// Snapshots live under `dataDirectory/snapshots`.
    public var dataDirectory: String
    /// The cluster's number of shards (recorded in exported snapshots).
    public var shardCount: UInt64 = 16
    public var tickMilliseconds: Int = 50
    public var electionTimeoutTicks: Int = 10
    public var heartbeatIntervalTicks: Int = 1
    /// Step workers; each owns a fixed partition of the shards (shard id modulo count).
    public var workerCount: Int = 2
    /// Take a snapshot after this many applied entries, then compact the log behind it,
    /// keeping `compactionKeepEntries` for followers that are only a little behind.
    public var snapshotEveryEntries: UInt64 = 10_000
    public var compactionKeepEntries: UInt64 = 1_000
    /// A request not answered in this time gets `timeout` (its outcome is then unknown).
    public var requestTimeoutMilliseconds: Int = 5_000
    /// Requests waiting in a worker beyond this are refused with `busy`.
    public var pendingRequestsMax: Int = 65_536
    /// Work items (messages, requests, ticks) queued to one worker beyond this are refused.
    public var workerQueueMax: Int = 262_144
    public var promotionLagEntriesMax: UInt64 = 64
    public var messageBytesMax: Int = 1 << 20
    /// An idle shard (nothing proposed, nothing to replicate) stops ticking after this many
    /// ticks without activity; any message or request wakes it. Zero: shards never fall quiet.
    public var quiesceAfterTicks: Int = 100
    /// The wall clock (milliseconds since 1970) that stamps proposals and judges expiry on
    /// reads. Replaceable so tests can move time.
    public var wallClockMilliseconds: @Sendable () -> UInt64 = NodeHostConfiguration.systemWallClockMilliseconds
    /// Keys a leader's expiry sweep deletes in one entry at most.
    public var sweepKeysMax: Int = 256

    public init(nodeID: ReplicaID, clusterID: UInt64, dataDirectory: String) {
        self.nodeID = nodeID
        self.clusterID = clusterID
        self.dataDirectory = dataDirectory
    }

    func raftConfiguration(seed: UInt64) -> RaftConfiguration {
        var configuration = RaftConfiguration(replica: nodeID)
        configuration.electionTimeoutTicks = electionTimeoutTicks
        configuration.heartbeatIntervalTicks = heartbeatIntervalTicks
        configuration.promotionLagEntriesMax = promotionLagEntriesMax
        configuration.messageBytesMax = messageBytesMax
        configuration.randomSeed = seed
        return configuration
    }

    public static func systemWallClockMilliseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1_000 + UInt64(time.tv_nsec) / 1_000_000
    }
}
