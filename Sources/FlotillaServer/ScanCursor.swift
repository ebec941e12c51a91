/// A `SCAN` cursor: the shard (top 16 bits, from 1) and the position in its `ScanOrder`
/// (low 48 bits) where the next page starts. 0 starts at shard 1 and is also what the last
/// page answers, as Redis's cursor does.
struct ScanCursor: Equatable, Sendable {
    let shard: UInt64
    let position: UInt64

    static let positionMask: UInt64 = (1 << 48) - 1

    /// Nil when the cursor names no shard of the cluster.
    init?(_ value: UInt64, shardCount: UInt64) {
        if value == 0 {
            shard = 1
            position = 0
            return
        }
        shard = value >> 48
        position = value & Self.positionMask
        guard shard >= 1, shard <= shardCount else { return nil }
    }

    init(shard: UInt64, position: UInt64) {
        self.shard = shard
        self.position = position
    }

    var value: UInt64 { shard << 48 | position }

    /// Where to go after a page of this shard that ended before `next` (nil: the shard is
    /// done): the rest of this shard, the start of the next one, or 0 after the last.
    func following(_ next: UInt64?, shardCount: UInt64) -> UInt64 {
        if let next { return ScanCursor(shard: shard, position: next).value }
        if shard < shardCount { return ScanCursor(shard: shard + 1, position: 0).value }
        return 0
    }
}
