import FlotillaRaft

/// One replica's durable log as the Raft core reads it: cached bounds and state, with entries
/// fetched from the host's store. Owned by the replica's step worker; updated right after each
/// durable write.
final class ReplicaLogView: RaftLogReader {
    let shard: ShardID
    let store: any HostLogStore
    private(set) var hardState: HardState
    private(set) var snapshot: SnapshotMetadata
    private(set) var snapshotFile: String?
    private(set) var firstIndex: LogIndex
    private(set) var lastIndex: LogIndex
    private var compactedTerm: Term
    /// Recently written entries, so that a leader feeding followers rarely reads the store.
    private var recent: [Entry] = []
    static let recentEntriesMax = 4_096
    static let recentEntriesSlack = 1_024

    init(shard: ShardID, store: any HostLogStore, stored: StoredReplica?) {
        self.shard = shard
        self.store = store
        hardState = stored?.hardState ?? HardState()
        snapshot = stored?.snapshot?.metadata ?? SnapshotMetadata()
        snapshotFile = stored?.snapshot?.file
        firstIndex = stored?.firstIndex ?? LogIndex(1)
        lastIndex = stored?.lastIndex ?? .zero
        compactedTerm = stored?.compactedTerm ?? .zero
    }

    func term(at index: LogIndex) -> Term? {
        if index == firstIndex.previous { return compactedTerm }
        if index == snapshot.index { return snapshot.term }
        guard index >= firstIndex, index <= lastIndex else { return nil }
        if let first = recent.first, index >= first.index {
            return recent[Int(index.rawValue - first.index.rawValue)].term
        }
        return (try? store.term(shard: shard, at: index)) ?? nil
    }

    func entries(from: LogIndex, through: LogIndex, bytesMax: Int) -> [Entry] {
        guard from <= through, from >= firstIndex, through <= lastIndex else { return [] }
        if let first = recent.first, from >= first.index {
            let start = Int(from.rawValue - first.index.rawValue)
            let end = min(recent.count - 1, Int(through.rawValue - first.index.rawValue))
            return start <= end ? recent[start...end].prefix(bytesMax: bytesMax) : []
        }
        return (try? store.entries(shard: shard, from: from, through: through, bytesMax: bytesMax)) ?? []
    }

    /// Mirrors a durable update into the cached view.
    func applied(_ update: ReplicaLogUpdate) {
        if let stored = update.snapshot {
            let metadata = stored.metadata
            if metadata.index > lastIndex || term(at: metadata.index) != metadata.term {
                recent = []
                firstIndex = metadata.index.next
                lastIndex = metadata.index
                compactedTerm = metadata.term
            }
            snapshot = metadata
            snapshotFile = stored.file
        }
        if let first = update.entries.first {
            if let recentFirst = recent.first, first.index >= recentFirst.index, first.index <= recentFirst.index.advanced(by: Int64(recent.count)) {
                recent.removeSubrange(Int(first.index.rawValue - recentFirst.index.rawValue)...)
            } else {
                recent = []
            }
            recent.append(contentsOf: update.entries)
            // Trimmed in steps of `recentEntriesSlack`: trimming on every append moved the whole
            // buffer once per write (it was a tenth of a step worker's time under load).
            if recent.count > Self.recentEntriesMax + Self.recentEntriesSlack { recent.removeFirst(recent.count - Self.recentEntriesMax) }
            lastIndex = update.entries.last!.index
        }
        if let through = update.compactThrough, through >= firstIndex, through <= lastIndex {
            compactedTerm = term(at: through) ?? compactedTerm
            firstIndex = through.next
            if let recentFirst = recent.first, recentFirst.index <= through {
                recent.removeFirst(min(recent.count, Int(through.rawValue - recentFirst.index.rawValue + 1)))
            }
        }
        if let state = update.hardState { hardState = state }
    }
}
