import FlotillaRaft

/// Key layout. Keys are big-endian so that LMDB's byte order is numeric order and everything of
/// one replica is one contiguous range:
///
/// - entries database: `shard(8) replica(8) index(8)`, value `term(8) payload`;
/// - replicas database: `shard(8) replica(8) kind(1)`, value encoded per kind;
/// - host database: a short ASCII name, value big-endian.
enum StoreKey {
    static let entryKeyBytes = 24
    static let replicaKeyBytes = 17

    /// The kinds of per-replica records.
    enum Kind: UInt8, CaseIterable {
        case hardState = 1
        case snapshot = 2
        case record = 3
        case compaction = 4
    }

    static func entry(_ shard: ShardID, _ replica: ReplicaID, _ index: LogIndex) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(entryKeyBytes)
        bytes.appendBigEndian(shard.rawValue)
        bytes.appendBigEndian(replica.rawValue)
        bytes.appendBigEndian(index.rawValue)
        return bytes
    }

    static func replica(_ shard: ShardID, _ replica: ReplicaID, _ kind: Kind) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(replicaKeyBytes)
        bytes.appendBigEndian(shard.rawValue)
        bytes.appendBigEndian(replica.rawValue)
        bytes.append(kind.rawValue)
        return bytes
    }

    /// Shard and replica of a key of either database.
    static func owner(_ key: UnsafeRawBufferPointer) -> (ShardID, ReplicaID) {
        (ShardID(key.loadBigEndianUInt64(at: 0)), ReplicaID(key.loadBigEndianUInt64(at: 8)))
    }

    static let formatVersionName = Array("format-version".utf8)
    static let nodeIDName = Array("node-id".utf8)
    static let clusterIDName = Array("cluster-id".utf8)
}
