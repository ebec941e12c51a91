import FlotillaHost
import FlotillaPlacement
import FlotillaRaft
import FlotillaServer
import Synchronization

/// Leader balance, on the host that leads the meta shard, while no replica move is pending:
/// every `passInterval` (a second, longer for many shards) it asks every data shard's leader for its members and
/// their lag, and the active hosts whether they answer, and hands over the leaderships
/// `LeaderBalancePlanner` picks (at most `transfersPerPassMax` a pass, through the router's
/// `TRANSFER` path like a client's). So leaders spread over the active hosts after a cluster
/// grows, and a host back from an outage takes its share again.
///
/// It never fights elections: a shard just transferred is left alone for a while, longer each
/// time it needs another transfer before it settles (`LeaderTransferBackoff`); a target that
/// lags or does not answer is skipped; and a shard whose leader is where the balance wants it
/// is left as it is.
final class LeaderBalancer: Sendable {
    let router: HostRequestRouter
    private struct State {
        var backoff = LeaderTransferBackoff()
        var nextPassMilliseconds: UInt64 = 0
    }
    private let state = Mutex(State())

    static let passIntervalMillisecondsMin: UInt64 = 1_000
    /// A pass asks every shard's leader for its status, so with many shards passes are spaced
    /// out in proportion: 1 s up to 64 shards, about 16 s for 1,000, 17 min for 65,536.
    static let passIntervalMillisecondsPerShard: UInt64 = 16

    static func passIntervalMilliseconds(shardCount: UInt64) -> UInt64 {
        max(passIntervalMillisecondsMin, shardCount * passIntervalMillisecondsPerShard)
    }
    static let transfersPerPassMax = 4
    /// A target further behind than this is not given leadership yet; as the promotion bound.
    static let targetLagEntriesMax: UInt64 = 64

    init(router: HostRequestRouter) { self.router = router }

    /// The next look comes at once (after `REBALANCE`), not at the end of the period.
    func passSoon() {
        state.withLock { $0.nextPassMilliseconds = 0 }
    }

    /// One pass when its period is over: the shards' leaders are looked at and a few moved.
    func passIfDue(map: ClusterMap) async {
        let now = HostRequestRouter.nowMilliseconds()
        guard state.withLock({ now >= $0.nextPassMilliseconds }) else { return }
        await pass(map: map)
        // Counted from the end of the pass: a slow pass is never followed at once by the next.
        let interval = Self.passIntervalMilliseconds(shardCount: router.runtime.shardCount)
        state.withLock { $0.nextPassMilliseconds = HostRequestRouter.nowMilliseconds() + interval }
    }

    private func pass(map: ClusterMap) async {
        let eligible = await router.answeringHosts(of: map)
        let gathered = await router.gatherMemberships(fromLeaders: true)
        guard gathered.refusal == nil else { return }
        let memberships = gathered.memberships
        // Shards whose leader is where an unhindered balance wants it have settled.
        let wanted = Set(LeaderBalancePlanner.plan(memberships: memberships, eligible: eligible, targetLagEntriesMax: nil,
                                                   limit: Int.max).map(\.shard))
        let now = HostRequestRouter.nowMilliseconds()
        let held = state.withLock { state -> Set<ShardID> in
            for shard in memberships.keys where !wanted.contains(shard) { state.backoff.settled(shard) }
            return state.backoff.held(nowMilliseconds: now)
        }
        let transfers = LeaderBalancePlanner.plan(memberships: memberships, eligible: eligible, held: held,
                                                  targetLagEntriesMax: Self.targetLagEntriesMax, limit: Self.transfersPerPassMax)
        guard !transfers.isEmpty else { return }
        state.withLock { state in
            for transfer in transfers { state.backoff.transferred(transfer.shard, nowMilliseconds: now) }
        }
        await withTaskGroup(of: Void.self) { group in
            for transfer in transfers {
                group.addTask { await self.carryOut(transfer) }
            }
        }
    }

    private func carryOut(_ transfer: LeaderTransfer) async {
        guard router.nodeHost.role(in: MetaShard.id) == .leader, !router.stopping.load(ordering: .acquiring) else { return }
        let answer = await router.ask(.transfer(shard: transfer.shard.rawValue, node: transfer.to.rawValue))
        let attempts = state.withLock { $0.backoff.attempts(of: transfer.shard) }
        if answer == .ok {
            router.runtime.events(HostEvent(.info, "leader balance: leadership moved from \(transfer.from) to \(transfer.to)",
                                            shard: transfer.shard))
        } else {
            router.runtime.events(HostEvent(.info, "leader balance: moving leadership from \(transfer.from) to \(transfer.to) "
                                            + "failed (\(answer)); attempt \(attempts), backing off", shard: transfer.shard))
        }
    }
}
