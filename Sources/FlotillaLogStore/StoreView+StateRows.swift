import CLMDB
import FlotillaRaft

/// How one key of a replica's state is kept in LMDB, whose keys are at most 511 bytes while a
/// Flotilla key may have 1,024: a key of up to `inlineStateKeyBytesMax` bytes is its own LMDB
/// key (`prefix position key`, the value a `StateValue`); a longer one goes in a *bucket*, the
/// LMDB key `prefix position key[0..<inlineStateKeyBytesMax] 0xFF`, whose value holds every
/// long key sharing that start and position, with its value, sorted by key.
///
/// Both forms sort as `(position, key)` byte order: an inline key is at most
/// `inlineStateKeyBytesMax` bytes, so one equal to a bucket's truncated start is shorter than
/// every key in the bucket and sorts first, as it does compared with the whole keys. Lookups
/// are exact whatever the keys (no hash stands in for the tail of a long key).
extension StoreView {
    static let inlineStateKeyBytesMax = 448
    static let stateBucketMarker: UInt8 = 0xFF
    /// A bucket's value starts with this flags byte (a `StateValue`'s flags are 0 or 1).
    static let stateBucketFlags: UInt8 = 2

    static func stateStoredKey(_ shard: ShardID, _ replica: ReplicaID, _ generation: UInt32, _ position: UInt64,
                               _ key: [UInt8]) -> (key: [UInt8], isBucket: Bool) {
        guard key.count > inlineStateKeyBytesMax else { return (StoreKey.state(shard, replica, generation, position, key), false) }
        var stored = StoreKey.state(shard, replica, generation, position, Array(key[0..<inlineStateKeyBytesMax]))
        stored.append(stateBucketMarker)
        return (stored, true)
    }

    /// Whether the LMDB key of a state row is a bucket's.
    static func isStateBucket(_ raw: UnsafeRawBufferPointer) -> Bool {
        raw.count == StoreKey.statePrefixBytes + inlineStateKeyBytesMax + 1 && raw[raw.count - 1] == stateBucketMarker
    }

    /// The key's value in `generation`, if it has one.
    func readStateRow(_ shard: ShardID, _ replica: ReplicaID, _ generation: UInt32, position: UInt64, key: [UInt8]) throws -> StateValue? {
        let (stored, isBucket) = Self.stateStoredKey(shard, replica, generation, position, key)
        guard isBucket else { return try transaction.value(environment.state, stored) { try StateValue.decode($0) } }
        let bucket = try transaction.value(environment.state, stored) { try Self.decodeStateBucket($0) } ?? []
        return bucket.first { $0.key == key }?.value
    }

    /// Stores the row in `generation`; whether its key is new there.
    @discardableResult
    func writeStateRow(_ shard: ShardID, _ replica: ReplicaID, _ generation: UInt32, _ row: StateRow) throws -> Bool {
        let (stored, isBucket) = Self.stateStoredKey(shard, replica, generation, row.position, row.key)
        guard isBucket else {
            let isNew = try transaction.value(environment.state, stored, { _ in true }) == nil
            try transaction.put(environment.state, stored, row.value.encoded())
            return isNew
        }
        var bucket = try transaction.value(environment.state, stored) { try Self.decodeStateBucket($0) } ?? []
        let isNew: Bool
        if let existing = bucket.firstIndex(where: { $0.key == row.key }) {
            bucket[existing].value = row.value
            isNew = false
        } else {
            let place = bucket.firstIndex { row.key.lexicographicallyPrecedes($0.key) } ?? bucket.count
            bucket.insert((row.key, row.value), at: place)
            isNew = true
        }
        try transaction.put(environment.state, stored, Self.encodeStateBucket(bucket))
        return isNew
    }

    /// Deletes the key from `generation`; whether it was there.
    func eraseStateRow(_ shard: ShardID, _ replica: ReplicaID, _ generation: UInt32, position: UInt64, key: [UInt8]) throws -> Bool {
        let (stored, isBucket) = Self.stateStoredKey(shard, replica, generation, position, key)
        guard isBucket else {
            guard try transaction.value(environment.state, stored, { _ in true }) != nil else { return false }
            try transaction.delete(environment.state, stored)
            return true
        }
        var bucket = try transaction.value(environment.state, stored) { try Self.decodeStateBucket($0) } ?? []
        guard let existing = bucket.firstIndex(where: { $0.key == key }) else { return false }
        bucket.remove(at: existing)
        if bucket.isEmpty {
            try transaction.delete(environment.state, stored)
        } else {
            try transaction.put(environment.state, stored, Self.encodeStateBucket(bucket))
        }
        return true
    }

    /// `flags(1) = 2`, then per key: `keyLength(4) key valueLength(4) StateValue`.
    static func encodeStateBucket(_ bucket: [(key: [UInt8], value: StateValue)]) -> [UInt8] {
        var encoded: [UInt8] = [stateBucketFlags]
        for (key, value) in bucket {
            let valueBytes = value.encoded()
            encoded.appendBigEndian(UInt32(key.count))
            encoded.append(contentsOf: key)
            encoded.appendBigEndian(UInt32(valueBytes.count))
            encoded.append(contentsOf: valueBytes)
        }
        return encoded
    }

    static func decodeStateBucket(_ raw: UnsafeRawBufferPointer) throws -> [(key: [UInt8], value: StateValue)] {
        guard raw.first == stateBucketFlags else { throw LogStoreError.corrupt("a state bucket without its flags") }
        var bucket: [(key: [UInt8], value: StateValue)] = []
        var offset = 1
        func length() throws -> Int {
            guard offset + 4 <= raw.count else { throw LogStoreError.corrupt("a state bucket cut short") }
            let value = Int(raw.loadBigEndianUInt32(at: offset))
            offset += 4
            guard offset + value <= raw.count else { throw LogStoreError.corrupt("a state bucket cut short") }
            return value
        }
        while offset < raw.count {
            let keyLength = try length()
            let key = Array(raw[offset..<(offset + keyLength)])
            offset += keyLength
            let valueLength = try length()
            let value = try StateValue.decode(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + valueLength)]))
            offset += valueLength
            bucket.append((key, value))
        }
        return bucket
    }
}
