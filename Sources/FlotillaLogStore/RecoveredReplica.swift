import FlotillaRaft

/// Everything the store holds about one replica except its entries: what a host needs to
/// restart the replica after a crash.
public struct RecoveredReplica: Sendable, Equatable {
    public var shard: ShardID
    public var replica: ReplicaID
    public var record: StoredReplicaRecord?
    public var hardState: StoredHardState?
    public var snapshot: StoredSnapshotRecord?
    public var bounds: LogBounds

    public init(
        shard: ShardID, replica: ReplicaID, record: StoredReplicaRecord?, hardState: StoredHardState?,
        snapshot: StoredSnapshotRecord?, bounds: LogBounds
    ) {
        self.shard = shard
        self.replica = replica
        self.record = record
        self.hardState = hardState
        self.snapshot = snapshot
        self.bounds = bounds
    }
}
