import FlotillaRaft

/// Which voter of each shard should lead, so that every host leads about `shards / hosts`
/// shards. The first voter in rendezvous order alone spreads leaders only as evenly as chance
/// does (with 100 shards per host, ±10 is typical, ±25 seen); leading costs a host more than
/// following (it answers the writes and the linearizable reads), so a leader-balance step
/// transfers leadership toward this assignment instead.
///
/// Deterministic: shards are taken in increasing order, each given to the voter that leads
/// the fewest so far, ties going to the earlier voter in the shard's rendezvous order; then a
/// few passes move a shard to a voter leading two or more fewer.
///
/// Given the leaders the shards have now (`current`), each shard keeps its leader while that
/// is one of its candidates, and only the refinement passes move leaders: every transfer
/// costs the shard a moment without a leader, so a running cluster moves only as many as the
/// spread needs (a host back from an outage, leading nothing, takes shards from the hosts
/// leading two or more more than it) instead of reaching one fixed assignment.
public struct LeaderAssignment: Sendable, Equatable {
    public let leaders: [ShardID: ReplicaID]
    static let refinementPasses = 8

    /// `voters`: each shard's voters, in rendezvous order (`RendezvousPlacement.voters(of:)`),
    /// or as the shard has them now. `current`: the shards' leaders now, kept where they are
    /// candidates (none: every shard placed from scratch).
    public init(voters: [ShardID: [ReplicaID]], current: [ShardID: ReplicaID] = [:]) {
        var counts: [ReplicaID: Int] = [:]
        var leaders: [ShardID: ReplicaID] = [:]
        for shard in voters.keys.sorted() {
            guard let leader = current[shard], voters[shard]!.contains(leader) else { continue }
            counts[leader, default: 0] += 1
            leaders[shard] = leader
        }
        for shard in voters.keys.sorted() where leaders[shard] == nil {
            let candidates = voters[shard]!
            guard var chosen = candidates.first else { continue }
            for candidate in candidates.dropFirst() where counts[candidate, default: 0] < counts[chosen, default: 0] {
                chosen = candidate
            }
            counts[chosen, default: 0] += 1
            leaders[shard] = chosen
        }
        // Then, a few passes in the same order: a shard moves to another of its voters that
        // leads at least two fewer, which takes the early shards' luck out of the greedy pass.
        for _ in 0..<Self.refinementPasses {
            var moved = false
            for shard in voters.keys.sorted() {
                guard let current = leaders[shard] else { continue }
                for candidate in voters[shard]! where counts[candidate, default: 0] + 1 < counts[current, default: 0] {
                    counts[current, default: 0] -= 1
                    counts[candidate, default: 0] += 1
                    leaders[shard] = candidate
                    moved = true
                    break
                }
            }
            if !moved { break }
        }
        self.leaders = leaders
    }

    /// How many shards each node should lead.
    public var leaderCounts: [ReplicaID: Int] {
        var counts: [ReplicaID: Int] = [:]
        for leader in leaders.values { counts[leader, default: 0] += 1 }
        return counts
    }
}
