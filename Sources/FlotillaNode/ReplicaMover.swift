import FlotillaHost
import FlotillaPlacement
import FlotillaRaft
import FlotillaServer
import Synchronization

/// Carries out the replica moves the cluster map records, on the host that leads the meta
/// shard (every host runs one; only the meta leader's acts, so a new leader resumes what a
/// crashed one left). At most `movesInFlightMax` moves run at once, never two of one shard.
///
/// A move is: add the new host as an observer, promote it once caught up (the leader refuses
/// while it lags, so the mover asks again), hand leadership over when the host giving the
/// replica up leads, then remove that replica. Each step is recorded in the map before it is
/// taken and each is idempotent, so a move interrupted anywhere (this host killed, the meta
/// leader changed) resumes at its recorded step, and a shard never has fewer voters than it
/// started with: the old replica goes only once the new one votes.
///
/// Data shards are changed through the router, like a client's admin commands (relayed to
/// each shard's leader); the meta shard, which this host leads, directly.
///
/// While no move is pending it balances leaders (`LeaderBalancer`; off with `leaderBalance`
/// false, for an operator who places leaders by hand with `TRANSFER`). With `autoRebalance`
/// (`--auto-rebalance`) it also plans a rebalance whenever the map's host list differs from
/// the one it last planned for: after `ADD-HOST`, `DRAIN` or a host marked removed, and once
/// when this host starts leading the meta shard (its predecessor may have failed between a
/// change and its plan; planning again is safe, `REBALANCE` only replaces moves not started).
final class ReplicaMover: Sendable {
    let router: HostRequestRouter
    let balancer: LeaderBalancer
    let autoRebalance: Bool
    let leaderBalance: Bool
    private let task = Mutex<Task<Void, Never>?>(nil)
    /// The host list (`ClusterMap.hostsText`) the last automatic plan was made for; nil when
    /// none was made since this host last started leading the meta shard.
    private let plannedHosts = Mutex<String?>(nil)
    /// After an automatic plan that could not be made (a shard without a leader to ask), the
    /// next try waits this long, so that a cluster missing a host does not re-ask every shard
    /// five times a second.
    static let autoPlanRetryMilliseconds: UInt64 = 2_000
    private let nextAutoPlanMilliseconds = Mutex<UInt64>(0)

    static let movesInFlightMax = 2
    /// Between looks at the map while idle, and between retries of a step that must wait (an
    /// observer catching up, an election).
    static let pauseMilliseconds = 200

    init(router: HostRequestRouter, autoRebalance: Bool, leaderBalance: Bool) {
        self.router = router
        self.autoRebalance = autoRebalance
        self.leaderBalance = leaderBalance
        balancer = LeaderBalancer(router: router)
    }

    var store: ClusterMapStore { router.clusterMapStore }

    func start() {
        task.withLock { running in
            guard running == nil else { return }
            running = Task { [self] in await run() }
        }
    }

    func stop() {
        task.withLock { $0?.cancel() }
    }

    var leadsMetaShard: Bool {
        !Task.isCancelled && !router.stopping.load(ordering: .acquiring) && router.nodeHost.role(in: MetaShard.id) == .leader
    }

    private func run() async {
        while !Task.isCancelled {
            if leadsMetaShard {
                await act()
            } else {
                plannedHosts.withLock { $0 = nil }
            }
            await pause()
        }
    }

    /// One look at the map as the meta shard's leader: a plan when the host list changed
    /// (with `autoRebalance`), then the moves, or leader balance when none is pending.
    private func act() async {
        guard case .success(var current) = await store.read() else { return }
        if autoRebalance {
            let hosts = current.map.hostsText
            let now = HostRequestRouter.nowMilliseconds()
            if plannedHosts.withLock({ $0 }) != hosts, now >= nextAutoPlanMilliseconds.withLock({ $0 }) {
                if case .success(.okIndex(let pending)) = await router.planMoves(draining: nil) {
                    plannedHosts.withLock { $0 = hosts }
                    router.runtime.events(HostEvent(.notice, "auto-rebalance: the host list changed; \(pending) moves pending"))
                    guard case .success(let replanned) = await store.read() else { return }
                    current = replanned
                } else {
                    // Moves already recorded go on meanwhile.
                    nextAutoPlanMilliseconds.withLock { $0 = HostRequestRouter.nowMilliseconds() + Self.autoPlanRetryMilliseconds }
                }
            }
        }
        if current.map.moves.isEmpty {
            if leaderBalance { await balancer.passIfDue(map: current.map) }
        } else {
            await driveMoves(current.map)
        }
    }

    private func pause() async {
        try? await Task.sleep(for: .milliseconds(Self.pauseMilliseconds))
    }

    /// Runs the first moves of the map (distinct shards) until each has finished or can go no
    /// further here.
    private func driveMoves(_ map: ClusterMap) async {
        var chosen: [ReplicaMove] = []
        for move in map.moves where !chosen.contains(where: { $0.shard == move.shard }) {
            chosen.append(move)
            if chosen.count == Self.movesInFlightMax { break }
        }
        guard !chosen.isEmpty else { return }
        await withTaskGroup(of: Void.self) { group in
            for move in chosen {
                group.addTask { await self.carryOut(move, address: map.hosts[move.to]?.address, replicaCount: map.replicaCount) }
            }
        }
    }

    /// Takes the move's steps from the recorded one on, recording each before taking it.
    func carryOut(_ original: ReplicaMove, address: String?, replicaCount: Int) async {
        var move = original
        let shard = move.shard
        while leadsMetaShard {
            switch move.step {
            case .queued:
                guard await record(move, step: .adding) else { return }
                move.step = .adding
                router.runtime.events(HostEvent(.info, "moving a replica from \(move.from) to \(move.to)", shard: shard))
                router.faultPoint?.reach("move-recorded-adding")
            case .adding:
                guard move.to != .none else {
                    guard await record(move, step: .removing) else { return }
                    move.step = .removing
                    continue
                }
                guard let address else {
                    router.runtime.events(HostEvent(.warning, "move to \(move.to) dropped: the host is not in the cluster map", shard: shard))
                    await finish(move)
                    return
                }
                let answer = await administer(shard, .addObserver(shard: shard.rawValue, node: move.to.rawValue, address: address))
                if answer == .ok || answer.message.contains("is already a member") {
                    router.faultPoint?.reach("move-observer-added")
                    guard await record(move, step: .promoting) else { return }
                    move.step = .promoting
                } else if answer.message.contains("was removed") {
                    router.runtime.events(HostEvent(.warning, "move to \(move.to) dropped: the shard removed that host before", shard: shard))
                    await finish(move)
                    return
                } else {
                    await pause()
                }
            case .promoting:
                let answer = await administer(shard, .promote(shard: shard.rawValue, node: move.to.rawValue))
                if answer == .ok {
                    router.faultPoint?.reach("move-promoted")
                    guard await record(move, step: .removing) else { return }
                    move.step = .removing
                } else if answer.message.contains("is not an observer"), let membership = await membership(of: shard) {
                    if membership.voters.contains(move.to) {
                        guard await record(move, step: .removing) else { return }
                        move.step = .removing
                    } else if !membership.observers.contains(move.to) {
                        guard await record(move, step: .adding) else { return }
                        move.step = .adding
                    }
                } else {
                    await pause()
                }
            case .removing:
                guard move.from != .none else {
                    await finish(move)
                    return
                }
                guard let membership = await membership(of: shard) else {
                    await pause()
                    continue
                }
                guard membership.voters.contains(move.from) || membership.observers.contains(move.from) else {
                    await finish(move)
                    return
                }
                // Never below the replica count: the new replica votes first, or, for a shard
                // only shrinking, it keeps enough voters without this one.
                let remaining = membership.voters.filter { $0 != move.from }
                let safe = move.to != .none ? membership.voters.contains(move.to) : remaining.count >= min(replicaCount, membership.voters.count)
                guard safe, !remaining.isEmpty else {
                    guard await record(move, step: .promoting) else { return }
                    move.step = .promoting
                    continue
                }
                if membership.leader == move.from {
                    let successor = remaining.contains(move.to) ? move.to : remaining[0]
                    if await administer(shard, .transfer(shard: shard.rawValue, node: successor.rawValue)) == .ok {
                        router.faultPoint?.reach("move-leadership-handed-over")
                    }
                    await pause()
                    continue
                }
                let answer = await administer(shard, .remove(shard: shard.rawValue, node: move.from.rawValue))
                if answer == .ok || answer.message.contains("is not a member") {
                    router.faultPoint?.reach("move-replica-removed")
                    await finish(move)
                    router.runtime.events(HostEvent(.info, "moved a replica from \(move.from) to \(move.to)", shard: shard))
                    return
                }
                await pause()
            }
        }
    }

    /// Records the move's next step; false when the move is no longer in the map (finished or
    /// dropped by whoever else drives it) or the map cannot be written from here.
    private func record(_ move: ReplicaMove, step: MoveStep) async -> Bool {
        let result = await store.update { map in
            guard let position = map.moves.firstIndex(where: { $0.isSameMove(as: move) }), map.moves[position].step != step else { return false }
            map.moves[position].step = step
            return true
        }
        guard case .success(let map) = result else { return false }
        return map.moves.contains { $0.isSameMove(as: move) && $0.step == step }
    }

    /// Takes the move out of the map: done.
    private func finish(_ move: ReplicaMove) async {
        _ = await store.update { map in
            let before = map.moves.count
            map.moves.removeAll { $0.isSameMove(as: move) }
            return map.moves.count != before
        }
    }

    /// A membership change or transfer on the shard's leader: through the router for a data
    /// shard, on this host's own replica for the meta shard (which it leads).
    func administer(_ shard: ShardID, _ request: ClientRequest) async -> ClientResponse {
        guard shard == MetaShard.id else { return await router.ask(request) }
        let host = router.nodeHost
        let result: Result<Void, NodeHostError>
        switch request {
        case .addObserver(_, let node, let address): result = await host.addObserver(shard, node: ReplicaID(node), address: address)
        case .promote(_, let node): result = await host.promote(shard, node: ReplicaID(node))
        case .remove(_, let node): result = await host.remove(shard, node: ReplicaID(node))
        case .transfer(_, let node): result = await host.transfer(shard, to: ReplicaID(node))
        default: return .error(.internalError, "not a membership change: \(request)")
        }
        switch result {
        case .success: return .ok
        case .failure(let error): return HostRequestRouter.response(for: error, shard: shard)
        }
    }

    /// The shard's members as its leader sees them (nil: not known right now).
    func membership(of shard: ShardID) async -> ShardMembership? {
        if shard == MetaShard.id {
            guard case .success(let status) = await router.nodeHost.status(shard) else { return nil }
            return ShardMembership(status: status)
        }
        return await router.shardMembership(of: shard)
    }
}

extension ClientResponse {
    /// An error's message (empty for any other answer), for telling refusals apart.
    var message: String {
        if case .error(_, let message) = self { return message }
        return ""
    }
}

extension ShardMembership {
    /// From a `STATUS` line's fields.
    init(line fields: [String: String]) {
        func nodes(_ name: String) -> [ReplicaID] { StatusLine.nodes(fields[name]).map { ReplicaID($0) } }
        var lag: [ReplicaID: UInt64] = [:]
        for item in (fields["lag"] ?? "").split(separator: ",") {
            let parts = item.split(separator: ":")
            if parts.count == 2, let node = UInt64(parts[0]), let entries = UInt64(parts[1]) { lag[ReplicaID(node)] = entries }
        }
        self.init(voters: nodes("voters"), observers: nodes("observers"), removed: Set(nodes("removed")),
                  leader: ReplicaID(fields["leader"].flatMap(UInt64.init) ?? 0), lagEntries: lag)
    }

    /// From this host's own replica's status.
    init(status: ShardStatus) {
        self.init(voters: status.membership.voters, observers: status.membership.observers, removed: status.membership.removed,
                  leader: status.leader, lagEntries: status.lagEntries)
    }
}
