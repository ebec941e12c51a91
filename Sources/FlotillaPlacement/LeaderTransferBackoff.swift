import FlotillaRaft

/// Keeps leader balance from fighting elections: after a transfer of a shard (answered or
/// not), the shard is left alone for a while, twice as long after each further transfer it
/// needs, up to `delayMillisecondsMax`. A shard whose leader is found where the balance wants
/// it is forgotten, so the next time it starts again at the shortest delay. A shard whose
/// leadership keeps drifting away (a host that keeps losing its elections, a target that
/// cannot win) is thus tried ever more rarely, never in a loop.
///
/// Pure: the caller passes the time, so that the schedule is tested without waiting.
public struct LeaderTransferBackoff: Sendable, Equatable {
    public let delayMillisecondsInitial: UInt64
    public let delayMillisecondsMax: UInt64
    private var attempts: [ShardID: Int] = [:]
    private var notBefore: [ShardID: UInt64] = [:]

    public init(delayMillisecondsInitial: UInt64 = 2_000, delayMillisecondsMax: UInt64 = 120_000) {
        self.delayMillisecondsInitial = delayMillisecondsInitial
        self.delayMillisecondsMax = delayMillisecondsMax
    }

    /// The shards that may not be transferred at `nowMilliseconds`.
    public func held(nowMilliseconds: UInt64) -> Set<ShardID> {
        Set(notBefore.filter { $0.value > nowMilliseconds }.keys)
    }

    /// A transfer of `shard` was just made (whatever its answer).
    public mutating func transferred(_ shard: ShardID, nowMilliseconds: UInt64) {
        let count = attempts[shard, default: 0] + 1
        attempts[shard] = count
        let doublings = UInt64(min(count - 1, 32))
        let delay = min(delayMillisecondsMax, delayMillisecondsInitial.multipliedReportingOverflow(by: 1 << doublings).partialValue)
        notBefore[shard] = nowMilliseconds + delay
    }

    /// The shard's leader is where the balance wants it: forget its history.
    public mutating func settled(_ shard: ShardID) {
        attempts[shard] = nil
        notBefore[shard] = nil
    }

    /// Transfers made since the shard last settled.
    public func attempts(of shard: ShardID) -> Int { attempts[shard, default: 0] }
}
