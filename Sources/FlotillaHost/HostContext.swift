import FlotillaRaft
import Synchronization

/// What every step worker of a host shares: configuration, store, transport, and the small
/// tables the request path reads without entering a worker (who leads which shard).
final class HostContext: Sendable {
    struct ShardInfo: Sendable, Equatable {
        var role: RaftRole
        var leader: ReplicaID
        var term: Term
        var members: [ReplicaID: String]
    }

    let configuration: NodeHostConfiguration
    let store: any HostLogStore
    let transport: any HostTransport
    let snapshotDirectory: String
    let events: HostEventSink
    let counters: HostCounters
    /// Called once when the store fails for good (`HostStoreFailure`); the host's process is
    /// expected to exit. Nothing is written or acknowledged after it.
    private let failStopHandler: @Sendable (String) -> Void
    /// Set by the first `failStop`: every worker sees it at its next round, not only the one
    /// whose write failed (they share the store, and the handler need not exit at once).
    private let storeFailed = Atomic<Bool>(false)
    let shards = Mutex<[ShardID: ShardInfo]>([:])
    /// Writes snapshot files off the step workers (the snapshot thread in production).
    let snapshotWriter: any SnapshotJobExecutor
    let transferCounter = Atomic<UInt64>(1)
    /// Request deadlines and replica seeds are measured on it (monotonic in production).
    let clock: any HostClock
    /// The cluster's identity; zero on a joining host until a peer tells it.
    let clusterIdentity: Atomic<UInt64>
    /// The cluster's shard count, recorded in exported snapshots.
    let shardCount: Atomic<UInt64>

    init(configuration: NodeHostConfiguration, store: any HostLogStore, transport: any HostTransport,
         events: @escaping HostEventSink, counters: HostCounters, failStop: @escaping @Sendable (String) -> Void,
         clock: any HostClock, snapshotWriter: any SnapshotJobExecutor) {
        self.configuration = configuration
        self.clock = clock
        self.snapshotWriter = snapshotWriter
        failStopHandler = failStop
        self.store = store
        self.transport = transport
        self.events = events
        self.counters = counters
        snapshotDirectory = configuration.dataDirectory + "/snapshots"
        clusterIdentity = Atomic(configuration.clusterID)
        shardCount = Atomic(configuration.shardCount)
    }

    /// The store failed for good: calls the fail-stop handler the first time only; every
    /// worker stops at its next round (`hasFailedStop`).
    func failStop(_ reason: String) {
        if !storeFailed.exchange(true, ordering: .acquiringAndReleasing) { failStopHandler(reason) }
    }

    var hasFailedStop: Bool { storeFailed.load(ordering: .acquiring) }

    /// Milliseconds since the host started.
    var nowMilliseconds: UInt64 { clock.nowMilliseconds }

    func deadline() -> UInt64 { nowMilliseconds + UInt64(configuration.requestTimeoutMilliseconds) }

    func publish(_ shard: ShardID, _ info: ShardInfo) {
        let changedMembers = shards.withLock { table -> Bool in
            let previous = table[shard]
            table[shard] = info
            return previous?.members != info.members
        }
        if changedMembers {
            // The transport merges addresses, so only this shard's are passed: recomputing the
            // union over every shard made starting 10,000 shards quadratic.
            transport.updateAddresses(info.members.filter { !$0.value.isEmpty })
        }
    }
}
