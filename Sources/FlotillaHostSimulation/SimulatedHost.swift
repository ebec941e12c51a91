import FlotillaHost
import FlotillaRaft

/// One host of the simulation across its incarnations: the store that outlives crashes, the
/// NodeHost of the current incarnation (nil while down), and what the checks remember of it.
final class SimulatedHost {
    let index: Int
    let id: ReplicaID
    let store = SimulatedHostLogStore()
    let dataDirectory: String
    var node: NodeHost?
    var incarnation = 0
    /// The current incarnation's store failed: it must not acknowledge, send or write again,
    /// and its process exits soon.
    var failStopped = false
    /// Down for good (liveness mode, outside the core).
    var retired = false
    var assembler: SnapshotAssembler?
    /// The applied index last checked per shard, so each state is compared once.
    var checkedApplied: [ShardID: LogIndex] = [:]
    /// Leaderships won by earlier incarnations (the counters restart with the NodeHost).
    var leadershipsWonBefore = 0
    var snapshotsInstalledBefore = 0

    init(index: Int, dataDirectory: String) {
        self.index = index
        id = ReplicaID(UInt64(index + 1))
        self.dataDirectory = dataDirectory
    }

    var isUp: Bool { node != nil }
}
