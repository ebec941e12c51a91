/// The order `SCAN` walks a shard's keys in: by a 48-bit position computed from each key's
/// bytes, the same on every host and in every version. A cursor is then a shard and a
/// position, which fits the decimal 64-bit cursor every Redis client expects (redis-cli and
/// redis-py parse it as a number), and resuming at a position returns every key that was
/// there all along, whatever was written in between, because a key's position never changes.
///
/// Positions are hashes, so two keys may share one; a page never ends between them.
public enum ScanOrder {
    public static let positionBits = 48
    /// One past the last position.
    public static let positionEnd: UInt64 = 1 << 48

    public static func position(of key: [UInt8]) -> UInt64 {
        var hash = fnv1a64(key)
        // FNV-1a also picks the shard, so its low bits are alike within one: mix them in
        // (the finalizer of splitmix64) before taking the top 48 bits.
        hash ^= hash >> 30
        hash = hash &* 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27
        hash = hash &* 0x94d0_49bb_1331_11eb
        hash ^= hash >> 31
        return hash >> 16
    }
}
