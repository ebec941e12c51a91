import FlotillaRaft

/// Everything one replica wants persisted in one write. The parts are applied in this order,
/// which is the order Raft needs them in:
///
/// 1. `removesReplica`: drop all the replica holds (entries and records), so that the same
///    update can then create it afresh.
/// 2. `compaction`: drop entries up to `compaction.index`. When the log holds the entry at that
///    index with that term, the entries after it stay (a snapshot taken locally); otherwise the
///    whole log is dropped (a snapshot received from the leader replaces a log that disagrees
///    with it). A compaction at or below the current compacted index does nothing.
/// 3. `entries`: appended; the first one's index must lie in `firstIndex...lastIndex + 1` and any
///    entry held at or after it is dropped first (the conflicting suffix Raft overwrites).
/// 4. `hardState`, `snapshot`, `record`: replaced when present.
/// 5. `state`: the key-value state's changes and applied position (`StateUpdate`).
public struct ReplicaUpdate: Sendable, Equatable {
    public var shard: ShardID
    public var replica: ReplicaID
    public var removesReplica: Bool
    public var compaction: LogPosition?
    public var entries: [StoredEntry]
    public var hardState: StoredHardState?
    public var snapshot: StoredSnapshotRecord?
    public var record: StoredReplicaRecord?
    public var state: StateUpdate?

    public init(
        shard: ShardID, replica: ReplicaID, removesReplica: Bool = false, compaction: LogPosition? = nil,
        entries: [StoredEntry] = [], hardState: StoredHardState? = nil, snapshot: StoredSnapshotRecord? = nil,
        record: StoredReplicaRecord? = nil, state: StateUpdate? = nil
    ) {
        self.shard = shard
        self.replica = replica
        self.removesReplica = removesReplica
        self.compaction = compaction
        self.entries = entries
        self.hardState = hardState
        self.snapshot = snapshot
        self.record = record
        self.state = state
    }

    /// The bytes this update adds to the store, roughly: what queue and batch limits count.
    var sizeBytes: Int {
        var total = 64 + (snapshot?.membership.count ?? 0) + (snapshot?.fileName?.utf8.count ?? 0)
        total += record?.payload.count ?? 0
        for entry in entries { total += entry.payload.count + ReplicaUpdate.entryOverheadBytes }
        total += state?.sizeBytes ?? 0
        return total
    }

    /// Key and term stored with every entry, counted so that empty payloads still weigh something.
    static let entryOverheadBytes = 32
}
