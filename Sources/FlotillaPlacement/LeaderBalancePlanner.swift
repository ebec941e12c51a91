import FlotillaRaft

/// Decides which leaderships to hand over so that leaders spread evenly over the hosts that
/// may lead: a leader costs its host more than a follower does (it answers the writes and the
/// linearizable reads), so a host that leads a third of the shards on a six-host cluster does
/// twice its share of that work. Pure, so that the decisions are tested without a cluster.
///
/// Each shard's candidates are its voters on `eligible` hosts (active in the cluster map and
/// answering), in rendezvous order. `LeaderAssignment`, started from the leaders the shards
/// have now, says who should lead; a shard whose leader differs is transferred when:
/// - it has a leader now (a shard in an election is left to it);
/// - it is not `held` (a replica move under way, or the shard is backing off after recent
///   transfers, see `LeaderTransferBackoff`): such a shard keeps its leader in the assignment;
/// - the target is known to be close behind the leader (`targetLagEntriesMax`, from the
///   leader's own report; nil: not checked), so that the transfer does not wait on a catch-up.
///
/// At most `limit` transfers, lowest shard first, so that one pass never turns over many
/// shards' leaders at once.
public enum LeaderBalancePlanner {
    public static func plan(memberships: [ShardID: ShardMembership], eligible: Set<ReplicaID>, held: Set<ShardID> = [],
                            targetLagEntriesMax: UInt64?, limit: Int) -> [LeaderTransfer] {
        var candidates: [ShardID: [ReplicaID]] = [:]
        var current: [ShardID: ReplicaID] = [:]
        for (shard, membership) in memberships where membership.leader != .none {
            if held.contains(shard) {
                // Fixed where it is: it still counts toward its leader's load.
                if eligible.contains(membership.leader) {
                    candidates[shard] = [membership.leader]
                    current[shard] = membership.leader
                }
                continue
            }
            let ranked = membership.voters.filter { eligible.contains($0) }.sorted {
                RendezvousPlacement.weight(shard: shard, node: $0) > RendezvousPlacement.weight(shard: shard, node: $1)
            }
            guard !ranked.isEmpty else { continue }
            candidates[shard] = ranked
            current[shard] = membership.leader
        }
        let assignment = LeaderAssignment(voters: candidates, current: current)
        var transfers: [LeaderTransfer] = []
        for shard in assignment.leaders.keys.sorted() where !held.contains(shard) {
            let membership = memberships[shard]!
            let target = assignment.leaders[shard]!
            guard target != membership.leader else { continue }
            if let targetLagEntriesMax {
                guard let lag = membership.lagEntries[target], lag <= targetLagEntriesMax else { continue }
            }
            transfers.append(LeaderTransfer(shard: shard, from: membership.leader, to: target))
            if transfers.count == limit { break }
        }
        return transfers
    }

    /// How many shards each host leads now, counting only `eligible` hosts (a host missing
    /// from the answer leads none).
    public static func leaderCounts(memberships: [ShardID: ShardMembership], eligible: Set<ReplicaID>) -> [ReplicaID: Int] {
        var counts = Dictionary(uniqueKeysWithValues: eligible.map { ($0, 0) })
        for membership in memberships.values where eligible.contains(membership.leader) { counts[membership.leader]! += 1 }
        return counts
    }
}
