import FlotillaRaft

/// Plans the replica moves that even the load out over the active hosts and take every replica
/// off a host that is not active (draining). Pure, so that plans are tested without a cluster.
///
/// Why not "move every shard to where `RendezvousPlacement` over the active hosts puts it": the
/// Raft core never admits a replica id a shard once removed, so every move spends one of the
/// shard's hosts for good. Going to the rule's placement moves two replicas of some shards
/// (adding two hosts to three moves 19 replicas of 16 shards), and such a shard, on five hosts,
/// has one host left that it may use: draining either of its other voters could not keep three
/// voters. So the plan moves as few replicas as the bounds need, at most one per shard when it
/// can, each from the most-loaded host to the least-loaded one that may take it:
///
/// 1. Every voter on a host not active moves to the least-loaded active host the shard may
///    take (not a member, never removed from it).
/// 2. While some host holds more than `(1 + loadSlack) × mean` replicas or fewer than
///    `(1 - loadSlack) × mean` (rounded outward), one replica moves from the most-loaded host to
///    the least-loaded, of a shard moved least so far in this plan.
///
/// Ties go to the rendezvous weight of shard and host, so a plan is deterministic and a shard
/// tends to land where the creation rule would have put it. The meta shard (the cluster map's
/// group) is never balanced: only its replicas on hosts not active move, to the active hosts
/// that rank highest for it.
public enum RebalancePlanner {
    /// How far from the mean a host's load may be before balancing moves a replica; as
    /// `RendezvousPlacement.loadSlack`, so a plan keeps the spread a new cluster starts with.
    public static let loadSlack = RendezvousPlacement.loadSlack

    public static func plan(map: ClusterMap, memberships: [ShardID: ShardMembership], shardCount: UInt64,
                            metaShard: ShardID, metaReplicaCount: Int) -> [ReplicaMove] {
        let active = map.activeHosts
        guard !active.isEmpty else { return [] }
        let activeSet = Set(active)
        let busy = Set(map.moves.map(\.shard))
        var moves: [ReplicaMove] = []

        if let meta = memberships[metaShard], !busy.contains(metaShard) {
            let leaving = meta.voters.filter { !activeSet.contains($0) }
            let ranking = RendezvousPlacement(members: active, replicaCount: 0, shardCount: 0).ranking(of: metaShard)
                .filter { !meta.removed.contains($0) && !meta.voters.contains($0) && !meta.observers.contains($0) }
            for (position, node) in leaving.enumerated() where position < ranking.count {
                moves.append(ReplicaMove(shard: metaShard, from: node, to: ranking[position]))
            }
        }

        // Each shard's voters as the plan leaves them, and each active host's load.
        var voters: [ShardID: [ReplicaID]] = [:]
        var load: [ReplicaID: Int] = Dictionary(uniqueKeysWithValues: active.map { ($0, 0) })
        var movedInPlan: [ShardID: Int] = [:]
        var shards: [ShardID] = []
        for number in stride(from: UInt64(1), through: shardCount, by: 1) where memberships[ShardID(number)] != nil {
            shards.append(ShardID(number))
        }
        for shard in shards {
            voters[shard] = memberships[shard]!.voters
            for node in memberships[shard]!.voters where load[node] != nil { load[node]! += 1 }
        }
        func mayTake(_ node: ReplicaID, _ shard: ShardID) -> Bool {
            let membership = memberships[shard]!
            return !voters[shard]!.contains(node) && !membership.removed.contains(node) && !membership.observers.contains(node)
        }
        func move(_ shard: ShardID, from: ReplicaID, to: ReplicaID) {
            moves.append(ReplicaMove(shard: shard, from: from, to: to))
            voters[shard] = voters[shard]!.map { $0 == from ? to : $0 }
            if load[from] != nil { load[from]! -= 1 }
            load[to]! += 1
            movedInPlan[shard, default: 0] += 1
        }
        /// Least-loaded first, then the highest rendezvous weight for the shard.
        func preferred(_ first: ReplicaID, _ second: ReplicaID, _ shard: ShardID) -> Bool {
            if load[first]! != load[second]! { return load[first]! < load[second]! }
            return RendezvousPlacement.weight(shard: shard, node: first) > RendezvousPlacement.weight(shard: shard, node: second)
        }

        // 1. Off the hosts that are not active.
        for shard in shards where !busy.contains(shard) {
            for node in voters[shard]! where !activeSet.contains(node) {
                guard let target = active.filter({ mayTake($0, shard) }).min(by: { preferred($0, $1, shard) }) else { continue }
                move(shard, from: node, to: target)
            }
        }

        // 2. Toward the mean, within the slack.
        let total = load.values.reduce(0, +)
        let mean = Double(total) / Double(active.count)
        let upper = Int((mean * (1 + loadSlack)).rounded(.up))
        let lower = Int((mean * (1 - loadSlack)).rounded(.down))
        let movable = shards.filter { !busy.contains($0) }
        for _ in 0..<(total + 1) {
            let byLoad = active.sorted { (load[$0]!, $0) < (load[$1]!, $1) }
            guard let least = byLoad.first, let most = byLoad.last, load[most]! > upper || load[least]! < lower else { break }
            // The most-loaded giver and least-loaded taker that have a shard between them.
            var chosen: (shard: ShardID, from: ReplicaID, to: ReplicaID)?
            search: for giver in byLoad.reversed() where load[giver]! > lower {
                for taker in byLoad where load[taker]! < upper && load[taker]! + 1 < load[giver]! {
                    let candidates = movable.filter { voters[$0]!.contains(giver) && mayTake(taker, $0) }
                    let best = candidates.min { first, second in
                        let firstMoved = movedInPlan[first, default: 0], secondMoved = movedInPlan[second, default: 0]
                        if firstMoved != secondMoved { return firstMoved < secondMoved }
                        return RendezvousPlacement.weight(shard: first, node: taker) > RendezvousPlacement.weight(shard: second, node: taker)
                    }
                    if let best {
                        chosen = (best, giver, taker)
                        break search
                    }
                }
            }
            guard let chosen else { break }
            move(chosen.shard, from: chosen.from, to: chosen.to)
        }
        return moves
    }
}
