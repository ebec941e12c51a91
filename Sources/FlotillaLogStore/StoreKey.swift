import FlotillaRaft

/// Key layout. Keys are big-endian so that LMDB's byte order is numeric order and everything of
/// one replica is one contiguous range:
///
/// - entries database: `shard(8) replica(8) index(8)`, value `term(8) payload`;
/// - replicas database: `shard(8) replica(8) kind(1)`, value encoded per kind;
/// - state database: `shard(8) replica(8) generation(4) position(8) key`, value a `StateValue`;
/// - host database: a short ASCII name, value big-endian.
enum StoreKey {
    static let entryKeyBytes = 24
    static let replicaKeyBytes = 17
    /// The state key's bytes before the caller's key.
    static let statePrefixBytes = 28

    /// The kinds of per-replica records.
    enum Kind: UInt8, CaseIterable {
        case hardState = 1
        case snapshot = 2
        case record = 3
        case compaction = 4
        /// The generation the state is read from (absent: 0).
        case stateGeneration = 5
        /// The log position the state reflects.
        case applied = 6
        /// How many keys the state holds.
        case stateCount = 7
        /// An install in progress: its generation and the rows written so far.
        case installing = 8
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

    static func state(_ shard: ShardID, _ replica: ReplicaID, _ generation: UInt32, _ position: UInt64, _ key: [UInt8]) -> [UInt8] {
        var bytes = statePrefix(shard, replica, generation)
        bytes.reserveCapacity(statePrefixBytes + key.count)
        bytes.appendBigEndian(position)
        bytes.append(contentsOf: key)
        return bytes
    }

    /// Every state key of one generation starts with these 20 bytes.
    static func statePrefix(_ shard: ShardID, _ replica: ReplicaID, _ generation: UInt32) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(statePrefixBytes)
        bytes.appendBigEndian(shard.rawValue)
        bytes.appendBigEndian(replica.rawValue)
        bytes.appendBigEndian(generation)
        return bytes
    }

    /// Shard and replica of a key of either database.
    static func owner(_ key: UnsafeRawBufferPointer) -> (ShardID, ReplicaID) {
        (ShardID(key.loadBigEndianUInt64(at: 0)), ReplicaID(key.loadBigEndianUInt64(at: 8)))
    }

    static let formatVersionName = Array("format-version".utf8)
    static let nodeIDName = Array("node-id".utf8)
    static let clusterIDName = Array("cluster-id".utf8)
    /// State generations replaced or abandoned, still to be deleted: `shard(8) replica(8)
    /// generation(4)` each.
    static let retiredStateName = Array("retired-state".utf8)
    /// The highest state generation handed out on this host (they are never reused).
    static let highestStateGenerationName = Array("state-generation-high".utf8)
}
