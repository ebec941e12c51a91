/// Updates for many replicas that become durable together, in one LMDB transaction and one sync
/// (possibly shared with other batches written at the same moment). A replica appears at most
/// once per batch, so that the order of its parts is the one `ReplicaUpdate` defines.
public struct WriteBatch: Sendable, Equatable {
    public var updates: [ReplicaUpdate]
    /// Records the cluster identity of a host that did not know it at creation (a `--join`
    /// host). Refused when the host already has a different one.
    public var clusterID: UInt64?

    public init(updates: [ReplicaUpdate] = [], clusterID: UInt64? = nil) {
        self.updates = updates
        self.clusterID = clusterID
    }

    public mutating func append(_ update: ReplicaUpdate) {
        updates.append(update)
    }

    public var isEmpty: Bool { updates.isEmpty && clusterID == nil }

    /// Approximate bytes the batch writes; what the queue and batch limits count.
    public var sizeBytes: Int { updates.reduce(16) { $0 + $1.sizeBytes } }

    /// The number of entries the batch appends.
    public var entryCount: Int { updates.reduce(0) { $0 + $1.entries.count } }
}

extension WriteBatch {
    /// Whether applying the batch may retire a state generation (a removed replica, an install
    /// begun again, finished or abandoned): the writer then sweeps retired rows.
    var retiresState: Bool {
        updates.contains { update in
            update.removesReplica || update.state?.install.map { if case .rows = $0 { false } else { true } } == true
        }
    }
}
