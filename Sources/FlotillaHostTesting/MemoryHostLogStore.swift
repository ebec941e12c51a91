import FlotillaHost
import FlotillaRaft
import Synchronization

/// A `HostLogStore` in memory, for tests. "Durable" means written here: a NodeHost crash in a
/// test drops the NodeHost and keeps this object.
public final class MemoryHostLogStore: HostLogStore {
    struct ShardLog {
        var record: ReplicaRecord
        var hardState = HardState()
        var snapshot: StoredSnapshot?
        var compactedIndex: LogIndex = .zero
        var compactedTerm: Term = .zero
        var entries: [Entry] = []
        /// The key-value state as written, and how far it is applied.
        var state: [[UInt8]: StoredKeyValue] = [:]
        var stateApplied: AppliedPosition?
        /// A replacement under way: invisible until its `finish`.
        var installing: [[UInt8]: StoredKeyValue]?

        var lastIndex: LogIndex { LogIndex(compactedIndex.rawValue + UInt64(entries.count)) }
    }

    private let shards = Mutex<[ShardID: ShardLog]>([:])
    /// Counts `persist` calls, so tests can see that many shards share one write.
    private let persistCalls = Atomic<Int>(0)

    public init() {}

    public var persistCallCount: Int { persistCalls.load(ordering: .relaxed) }

    public func persist(_ updates: [ReplicaLogUpdate]) throws {
        persistCalls.add(1, ordering: .relaxed)
        shards.withLock { shards in
            for update in updates {
                if update.delete {
                    shards[update.shard] = nil
                    continue
                }
                if let record = update.record, shards[update.shard] == nil {
                    shards[update.shard] = ShardLog(record: record)
                }
                guard var log = shards[update.shard] else { continue }
                if let snapshot = update.snapshot {
                    let index = snapshot.metadata.index
                    if index > log.lastIndex || index <= log.compactedIndex {
                        if index > log.compactedIndex {
                            log.entries = []
                            log.compactedIndex = index
                            log.compactedTerm = snapshot.metadata.term
                        }
                    } else {
                        let position = Int(index.rawValue - log.compactedIndex.rawValue - 1)
                        if log.entries[position].term != snapshot.metadata.term {
                            log.entries = []
                            log.compactedIndex = index
                            log.compactedTerm = snapshot.metadata.term
                        }
                    }
                    log.snapshot = snapshot
                }
                if let first = update.entries.first {
                    let keep = Int(first.index.rawValue - log.compactedIndex.rawValue - 1)
                    log.entries.removeSubrange(max(0, keep)...)
                    log.entries.append(contentsOf: update.entries)
                }
                if let through = update.compactThrough, through > log.compactedIndex, through <= log.lastIndex {
                    let drop = Int(through.rawValue - log.compactedIndex.rawValue)
                    log.compactedTerm = log.entries[drop - 1].term
                    log.entries.removeFirst(drop)
                    log.compactedIndex = through
                }
                if let hardState = update.hardState { log.hardState = hardState }
                if let state = update.state {
                    switch state.replacement {
                    case .whole(let rows)?:
                        log.state = Dictionary(rows.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
                        log.installing = nil
                    case .begin?:
                        log.installing = [:]
                    case .rows(let rows)?:
                        for row in rows { log.installing?[row.key] = row }
                    case .finish(let rowCount)?:
                        precondition(log.installing?.count == Int(rowCount), "a state replacement finished with \(log.installing?.count ?? -1) of its \(rowCount) keys")
                        log.state = log.installing ?? [:]
                        log.installing = nil
                    case nil:
                        break
                    }
                    for change in state.changes {
                        switch change {
                        case .put(let row): log.state[row.key] = row
                        case .delete(let key): log.state[key] = nil
                        }
                    }
                    if let applied = state.applied { log.stateApplied = applied }
                }
                shards[update.shard] = log
            }
        }
    }

    public func loadReplicas() throws -> [StoredReplica] {
        shards.withLock { shards in
            shards.keys.sorted().map { shard in
                let log = shards[shard]!
                return StoredReplica(shard: shard, record: log.record, hardState: log.hardState, snapshot: log.snapshot,
                                     firstIndex: log.compactedIndex.next, lastIndex: log.lastIndex, compactedTerm: log.compactedTerm,
                                     stateApplied: log.stateApplied)
            }
        }
    }

    public func entries(shard: ShardID, from: LogIndex, through: LogIndex, bytesMax: Int) throws -> [Entry] {
        shards.withLock { shards in
            guard let log = shards[shard], from > log.compactedIndex, from <= through, through <= log.lastIndex else { return [] }
            let start = Int(from.rawValue - log.compactedIndex.rawValue - 1)
            let end = Int(through.rawValue - log.compactedIndex.rawValue - 1)
            return log.entries[start...end].prefix(bytesMax: bytesMax)
        }
    }

    /// In the LMDB store's order (`ScanOrder` position, then key), so that tests see the same.
    public func stateRows(shard: ShardID, after: [UInt8]?, limit: Int) throws -> [StoredKeyValue] {
        shards.withLock { shards in
            guard let log = shards[shard] else { return [] }
            func precedes(_ left: (UInt64, [UInt8]), _ right: (UInt64, [UInt8])) -> Bool {
                left.0 != right.0 ? left.0 < right.0 : left.1.lexicographicallyPrecedes(right.1)
            }
            // Each key's position once, and only the keys past the resume point are sorted.
            let resume = after.map { (ScanOrder.position(of: $0), $0) }
            let following = log.state.keys.lazy.map { (ScanOrder.position(of: $0), $0) }.filter { key in resume.map { precedes($0, key) } ?? true }
            return following.sorted(by: precedes).prefix(max(0, limit)).map { log.state[$0.1]! }
        }
    }

    public func term(shard: ShardID, at index: LogIndex) throws -> Term? {
        shards.withLock { shards in
            guard let log = shards[shard] else { return nil }
            if index == log.compactedIndex { return log.compactedTerm }
            guard index > log.compactedIndex, index <= log.lastIndex else { return nil }
            return log.entries[Int(index.rawValue - log.compactedIndex.rawValue - 1)].term
        }
    }
}
