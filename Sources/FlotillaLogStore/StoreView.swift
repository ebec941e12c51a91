import CLMDB
import FlotillaRaft

/// The store's reads over one transaction, shared by the public read calls (read-only
/// transactions) and by the writer (which validates a batch against its own write transaction,
/// so that it sees the batches applied before in the same transaction).
struct StoreView {
    let transaction: Transaction
    let environment: Environment

    func bounds(_ shard: ShardID, _ replica: ReplicaID) throws -> LogBounds {
        let compacted = try transaction.value(environment.replicas, StoreKey.replica(shard, replica, .compaction)) {
            try LogPosition(decoding: $0)
        } ?? .origin
        let last = try lastEntryIndex(shard, replica) ?? compacted.index
        return LogBounds(compacted: compacted, lastIndex: max(last, compacted.index))
    }

    /// The index of the replica's last stored entry, or nil when it has none.
    func lastEntryIndex(_ shard: ShardID, _ replica: ReplicaID) throws -> LogIndex? {
        let cursor = try transaction.cursor(environment.entries)
        defer { cursor.close() }
        let boundary = StoreKey.entry(shard, replica, LogIndex(.max))
        var item = try cursor.seek(atOrAfter: boundary)
        if let found = item, found.key.elementsEqual(boundary) {
            return LogIndex(.max)
        }
        item = item == nil ? try cursor.last() : try cursor.previous()
        guard let found = item, found.key.count == StoreKey.entryKeyBytes,
              StoreKey.owner(found.key) == (shard, replica) else { return nil }
        return LogIndex(found.key.loadBigEndianUInt64(at: 16))
    }

    func term(_ shard: ShardID, _ replica: ReplicaID, at index: LogIndex) throws -> Term? {
        let stored = try transaction.value(environment.entries, StoreKey.entry(shard, replica, index)) { value in
            guard value.count >= 8 else { throw LogStoreError.corrupt("entry \(index) of shard \(shard) replica \(replica) is too short") }
            return Term(value.loadBigEndianUInt64(at: 0))
        }
        if let stored { return stored }
        let compacted = try bounds(shard, replica).compacted
        return compacted.index == index ? compacted.term : nil
    }

    func entries(
        _ shard: ShardID, _ replica: ReplicaID, from: LogIndex, through: LogIndex, byteLimit: Int
    ) throws -> [StoredEntry] {
        let bounds = try bounds(shard, replica)
        guard from <= through else { return [] }
        if from <= bounds.compacted.index {
            throw LogStoreError.compacted(shard: shard, replica: replica, index: from, firstIndex: bounds.firstIndex)
        }
        let cursor = try transaction.cursor(environment.entries)
        defer { cursor.close() }
        var result = [StoredEntry]()
        var totalBytes = 0
        var expected = from
        var item = try cursor.seek(atOrAfter: StoreKey.entry(shard, replica, from))
        while let found = item, found.key.count == StoreKey.entryKeyBytes, StoreKey.owner(found.key) == (shard, replica) {
            let index = LogIndex(found.key.loadBigEndianUInt64(at: 16))
            guard index <= through else { break }
            guard index == expected, found.value.count >= 8 else {
                throw LogStoreError.corrupt("shard \(shard) replica \(replica): entry \(expected) missing or too short")
            }
            let payloadBytes = found.value.count - 8
            if !result.isEmpty && totalBytes + payloadBytes > byteLimit { break }
            totalBytes += payloadBytes
            result.append(StoredEntry(index: index, term: Term(found.value.loadBigEndianUInt64(at: 0)),
                                      payload: Array(UnsafeRawBufferPointer(rebasing: found.value[8...]))))
            if index == LogIndex(.max) { break }
            expected = index.next
            item = try cursor.next()
        }
        return result
    }

    func hardState(_ shard: ShardID, _ replica: ReplicaID) throws -> StoredHardState? {
        try transaction.value(environment.replicas, StoreKey.replica(shard, replica, .hardState)) {
            try StoredHardState(decoding: $0)
        }
    }

    func snapshot(_ shard: ShardID, _ replica: ReplicaID) throws -> StoredSnapshotRecord? {
        try transaction.value(environment.replicas, StoreKey.replica(shard, replica, .snapshot)) {
            try StoredSnapshotRecord(decoding: $0)
        }
    }

    func record(_ shard: ShardID, _ replica: ReplicaID) throws -> StoredReplicaRecord? {
        try transaction.value(environment.replicas, StoreKey.replica(shard, replica, .record)) {
            try StoredReplicaRecord(decoding: $0)
        }
    }

    /// Every replica that has a record or an entry, in (shard, replica) order.
    func replicaIDs() throws -> [(ShardID, ReplicaID)] {
        var owners = Set<OwnerKey>()
        for database in [environment.replicas, environment.entries] {
            let cursor = try transaction.cursor(database)
            defer { cursor.close() }
            var item = try cursor.first()
            while let found = item, found.key.count >= 16 {
                let (shard, replica) = StoreKey.owner(found.key)
                owners.insert(OwnerKey(shard: shard.rawValue, replica: replica.rawValue))
                // Skip the rest of this replica's keys in one seek.
                if replica.rawValue == .max {
                    if shard.rawValue == .max { break }
                    item = try cursor.seek(atOrAfter: StoreKey.entry(ShardID(shard.rawValue + 1), ReplicaID(0), .zero))
                } else {
                    item = try cursor.seek(atOrAfter: StoreKey.entry(shard, ReplicaID(replica.rawValue + 1), .zero))
                }
            }
        }
        return owners.sorted().map { (ShardID($0.shard), ReplicaID($0.replica)) }
    }

    func hostValue(_ name: [UInt8]) throws -> UInt64? {
        try transaction.value(environment.host, name) { value in
            switch value.count {
            case 8: return value.loadBigEndianUInt64(at: 0)
            case 4: return UInt64(value.loadBigEndianUInt32(at: 0))
            default: throw LogStoreError.corrupt("host value \(String(decoding: name, as: UTF8.self)) has \(value.count) bytes")
            }
        }
    }
}

/// A (shard, replica) pair that sorts and hashes, for listing replicas.
private struct OwnerKey: Hashable, Comparable {
    let shard: UInt64
    let replica: UInt64

    static func < (left: OwnerKey, right: OwnerKey) -> Bool {
        (left.shard, left.replica) < (right.shard, right.replica)
    }
}
