import FlotillaLogStore
import FlotillaRaft

/// The deterministic workload the crash test writes and then checks: writer `w` owns shards
/// `w * shardsPerWriter + 1 ...`, and its batch `k` appends entries `k * entriesPerBatch + 1 ...`
/// to each of them, with the hard state's commit set to the new last index in the same batch, and
/// every tenth batch compacts the log to a few batches back (unless told not to, to fill a disk). The checker recomputes all of it.
public enum CrashWorkload {
    public static let writers = 4
    public static let shardsPerWriter = 4
    public static let entriesPerBatch = 8
    public static let nodeID: UInt64 = 7

    public static func shards(ofWriter writer: Int) -> [ShardID] {
        (0..<shardsPerWriter).map { ShardID(UInt64(writer * shardsPerWriter + $0 + 1)) }
    }

    public static func term(at index: LogIndex) -> Term {
        Term(index.rawValue / 100 + 1)
    }

    public static func payload(shard: ShardID, index: LogIndex) -> [UInt8] {
        var bytes = [UInt8]()
        for value in [shard.rawValue, index.rawValue &* 0x9E37_79B9_7F4A_7C15] {
            withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    public static func batch(writer: Int, number: Int, compacts: Bool = true) -> WriteBatch {
        var batch = WriteBatch()
        let replica = ReplicaID(nodeID)
        for shard in shards(ofWriter: writer) {
            let first = UInt64(number * entriesPerBatch + 1)
            let entries = (first..<first + UInt64(entriesPerBatch)).map { raw in
                StoredEntry(index: LogIndex(raw), term: term(at: LogIndex(raw)), payload: payload(shard: shard, index: LogIndex(raw)))
            }
            let last = entries.last!.index
            var update = ReplicaUpdate(shard: shard, replica: replica, entries: entries,
                                       hardState: StoredHardState(term: term(at: last), vote: replica, commit: last))
            if number == 0 {
                update.record = StoredReplicaRecord(role: .voter, origin: .bootstrap)
            }
            if compacts && number % 10 == 9 {
                let through = LogIndex(UInt64((number - 5) * entriesPerBatch))
                update.compaction = LogPosition(index: through, term: term(at: through))
            }
            batch.append(update)
        }
        return batch
    }
}
