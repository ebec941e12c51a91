import FlotillaHost

/// The shard that holds `key` in a cluster of `shardCount` shards: `1 + fnv1a64(key) mod K`.
/// Any client can compute it.
public func shardOf(key: [UInt8], shardCount: UInt64) -> UInt64 {
    1 + fnv1a64(key) % max(shardCount, 1)
}
