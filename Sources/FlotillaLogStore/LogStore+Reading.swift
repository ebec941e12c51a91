import FlotillaRaft

/// Reads: each runs in its own read-only transaction on the caller's thread, so it sees one
/// consistent state and never waits for the writer.
extension LogStore {
    /// Which entries the replica's log holds.
    public func bounds(shard: ShardID, replica: ReplicaID) throws -> LogBounds {
        try environment.withReadTransaction { try view($0).bounds(shard, replica) }
    }

    /// Entries `from...through` (clipped to the last entry held), stopping before the entry that
    /// would take the payload bytes past `byteLimit`, but always at least one entry when the
    /// range holds any. Throws `compacted` when `from` was dropped by compaction.
    public func entries(shard: ShardID, replica: ReplicaID, from: LogIndex, through: LogIndex, byteLimit: Int) throws -> [StoredEntry] {
        try environment.withReadTransaction {
            try view($0).entries(shard, replica, from: from, through: through, byteLimit: byteLimit)
        }
    }

    /// The term of the entry at `index`: also known for the last compacted index (and zero for
    /// index 0); nil when the index is compacted away or past the end of the log.
    public func term(shard: ShardID, replica: ReplicaID, at index: LogIndex) throws -> Term? {
        try environment.withReadTransaction { try view($0).term(shard, replica, at: index) }
    }

    public func hardState(shard: ShardID, replica: ReplicaID) throws -> StoredHardState? {
        try environment.withReadTransaction { try view($0).hardState(shard, replica) }
    }

    public func snapshot(shard: ShardID, replica: ReplicaID) throws -> StoredSnapshotRecord? {
        try environment.withReadTransaction { try view($0).snapshot(shard, replica) }
    }

    public func record(shard: ShardID, replica: ReplicaID) throws -> StoredReplicaRecord? {
        try environment.withReadTransaction { try view($0).record(shard, replica) }
    }

    /// Every replica of the host with its records and log bounds, in (shard, replica) order, read
    /// in one transaction: what a restarting host needs to bring every replica back.
    public func recoverReplicas() throws -> [RecoveredReplica] {
        try environment.withReadTransaction { transaction in
            let view = view(transaction)
            return try view.replicaIDs().map { shard, replica in
                RecoveredReplica(
                    shard: shard, replica: replica, record: try view.record(shard, replica),
                    hardState: try view.hardState(shard, replica), snapshot: try view.snapshot(shard, replica),
                    bounds: try view.bounds(shard, replica))
            }
        }
    }

    private func view(_ transaction: Transaction) -> StoreView {
        StoreView(transaction: transaction, environment: environment)
    }
}
