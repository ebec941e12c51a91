import FlotillaRaft

/// Where each shard's voters live: rendezvous (highest-random-weight) hashing of shard and
/// node id, with bounded loads. Every host computes it alike from the member list, the
/// replica count and the shard count alone, so hosts booting a new cluster agree on each
/// shard's voters without talking.
///
/// Plain rendezvous hashing moves the least data when a member is added or removed (only the
/// shards in whose top `replicaCount` it ranks change), but spreads replicas only as evenly
/// as chance does: with 300 replicas per host, ±15% is typical. So two bounded passes follow
/// the ranking: shards take their highest-ranked members that hold fewer than
/// `(1 + loadSlack) × mean` replicas, and a member left under `(1 - loadSlack) × mean` takes
/// over shards from their most-loaded voter, shards where it ranks highest first. With a slack
/// of 8% a member change still moves only about 1.1 × the least it could (see
/// `PlacementModel`).
///
/// Pure and deterministic: the weights are a fixed function of the two ids, and the passes
/// take shards and members in a fixed order (never the process's, the platform's or the order
/// members are given in). Changing any of it changes where new clusters put their shards, so
/// `testWeightsAreFixed` pins it.
public struct RendezvousPlacement: Sendable, Equatable {
    /// The members placed over, in increasing node id order.
    public let members: [ReplicaID]
    /// Voters per shard: the replica count asked for, or every member when there are fewer.
    public let replicaCount: Int
    /// The shards placed: `1...shardCount`.
    public let shardCount: UInt64
    /// Each shard's voters (at `shard - 1`), in rendezvous order.
    private let table: [[ReplicaID]]

    /// How far past the mean load a member may be (either way) before the bounded passes act.
    public static let loadSlack = 0.08

    /// `replicaCount` is what `--replicas` asked for; it is capped at the number of members.
    /// `shardCount` may be zero (a joining host that does not know it yet): then only
    /// `ranking(of:)` means anything.
    public init(members: some Sequence<ReplicaID>, replicaCount: Int, shardCount: UInt64) {
        let members = Array(Set(members)).sorted()
        self.members = members
        self.replicaCount = max(0, min(replicaCount, members.count))
        self.shardCount = shardCount
        table = Self.place(members: members, replicaCount: self.replicaCount, shardCount: shardCount)
    }

    /// Whether every member holds every shard (the cluster as it was before placement).
    public var placesEveryMemberEverywhere: Bool { replicaCount == members.count }

    /// Every member, highest weight first for this shard: the order in which to look for the
    /// shard (a relay's candidates), before the bounded passes evened loads out.
    public func ranking(of shard: ShardID) -> [ReplicaID] {
        Self.ranking(of: shard, members: members).map { members[$0] }
    }

    /// The shard's voters at creation, in rendezvous order; empty for a shard outside
    /// `1...shardCount`.
    public func voters(of shard: ShardID) -> [ReplicaID] {
        guard shard.rawValue >= 1, shard.rawValue <= shardCount else { return [] }
        return table[Int(shard.rawValue - 1)]
    }

    /// Whether `node` is one of the shard's placed voters.
    public func holds(_ node: ReplicaID, shard: ShardID) -> Bool { voters(of: shard).contains(node) }

    /// The voter that should lead the shard when nothing else is known: its first voter in
    /// rendezvous order, so that a member change moves the preferred leader of only the shards
    /// it changes. (`LeaderAssignment` evens leaders out further over a set of shards.)
    public func preferredLeader(of shard: ShardID) -> ReplicaID? { voters(of: shard).first }

    /// The rendezvous weight of a node for a shard: a 64-bit mix of both ids (SplitMix64's
    /// finalizer, applied twice), so that every node's rank is independent from shard to shard.
    public static func weight(shard: ShardID, node: ReplicaID) -> UInt64 {
        mix(mix(shard.rawValue) ^ node.rawValue)
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var mixed = value &+ 0x9e37_79b9_7f4a_7c15
        mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
        return mixed ^ (mixed >> 31)
    }

    /// Positions in `members`, highest weight first (ties, which a 64-bit hash makes
    /// vanishingly rare, to the lower node id).
    static func ranking(of shard: ShardID, members: [ReplicaID]) -> [Int] {
        let weights = members.map { weight(shard: shard, node: $0) }
        return members.indices.sorted { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : $0 < $1 }
    }

    static func place(members: [ReplicaID], replicaCount: Int, shardCount: UInt64) -> [[ReplicaID]] {
        guard shardCount > 0, replicaCount > 0 else { return [] }
        let shards = (1...shardCount).map { ShardID($0) }
        if replicaCount == members.count { return shards.map { _ in members } }
        let rankings = shards.map { ranking(of: $0, members: members) }
        let mean = Double(shards.count * replicaCount) / Double(members.count)
        let upper = Int((mean * (1 + loadSlack)).rounded(.up))
        let lower = Int((mean * (1 - loadSlack)).rounded(.down))
        var load = Array(repeating: 0, count: members.count)
        // Pass 1: each shard, in order, takes its highest-ranked members under the upper
        // bound (and, should too few be left under it, the highest-ranked others).
        var voters: [[Int]] = rankings.map { ranking in
            var chosen = Array(ranking.lazy.filter { load[$0] < upper }.prefix(replicaCount))
            for member in ranking where chosen.count < replicaCount && !chosen.contains(member) { chosen.append(member) }
            for member in chosen { load[member] += 1 }
            return chosen
        }
        // Pass 2: each member under the lower bound, least loaded first, takes over shards
        // where it ranks highest among non-voters, from their most loaded voter while that
        // one holds more than the mean.
        let underloaded = members.indices.filter { load[$0] < lower }.sorted { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }
        for member in underloaded {
            var candidates: [(rank: Int, shard: Int)] = []
            for shard in shards.indices where !voters[shard].contains(member) {
                candidates.append((rankings[shard].firstIndex(of: member)!, shard))
            }
            candidates.sort { $0.rank != $1.rank ? $0.rank < $1.rank : $0.shard < $1.shard }
            for (_, shard) in candidates {
                guard load[member] < lower else { break }
                let giver = voters[shard].max { load[$0] != load[$1] ? load[$0] < load[$1] : $0 > $1 }!
                guard Double(load[giver]) > mean else { continue }
                voters[shard][voters[shard].firstIndex(of: giver)!] = member
                load[giver] -= 1
                load[member] += 1
            }
        }
        return shards.indices.map { shard in
            let position = rankings[shard]
            return voters[shard].sorted { position.firstIndex(of: $0)! < position.firstIndex(of: $1)! }.map { members[$0] }
        }
    }
}
