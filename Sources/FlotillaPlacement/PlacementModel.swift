import FlotillaRaft

/// The placement rule run alone, without hosts: for `hosts` members numbered 1...hosts and
/// `shards` shards of `replicas` voters, how evenly replicas and preferred leaders spread, and
/// how many replicas move when one host is added (node id hosts + 1) or one removed (node id
/// 1). The `flotilla-placement-model` tool prints it and a test holds it to bounds, so that a
/// change to the rule that spreads worse or moves more is seen.
public struct PlacementModel: Sendable {
    public var hostCount: Int
    public var shardCount: Int
    public var replicaCount: Int

    public struct Report: Sendable, CustomStringConvertible {
        public var hostCount: Int
        public var shardCount: Int
        public var replicaCount: Int
        public var replicas: Spread
        /// The first of each shard's voters in rendezvous order (`RendezvousPlacement.preferredLeader`).
        public var rendezvousLeaders: Spread
        /// The leaders `LeaderAssignment` picks among each shard's voters.
        public var balancedLeaders: Spread
        /// Replicas placed on another host after adding one host.
        public var movedOnAdd: Int
        /// The fewest a host added could take and still hold its share: shards × replicas / (hosts + 1).
        public var minimumOnAdd: Double
        /// Replicas placed on another host after removing one host.
        public var movedOnRemove: Int
        /// The share one host held: shards × replicas / hosts.
        public var minimumOnRemove: Double

        public var description: String {
            func ratio(_ moved: Int, _ minimum: Double) -> String { String(Double((Double(moved) / minimum * 1000).rounded()) / 1000) }
            return """
                placement model: \(hostCount) hosts, \(shardCount) shards, \(replicaCount) replicas
                replicas per host:          \(replicas)
                leaders per host (first):   \(rendezvousLeaders)
                leaders per host (balanced): \(balancedLeaders)
                add one host:    \(movedOnAdd) replicas move (minimum \(Int(minimumOnAdd.rounded())), ratio \(ratio(movedOnAdd, minimumOnAdd)))
                remove one host: \(movedOnRemove) replicas move (minimum \(Int(minimumOnRemove.rounded())), ratio \(ratio(movedOnRemove, minimumOnRemove)))
                """
        }
    }

    public init(hostCount: Int, shardCount: Int, replicaCount: Int) {
        self.hostCount = hostCount
        self.shardCount = shardCount
        self.replicaCount = replicaCount
    }

    public func run() -> Report {
        let nodes = (1...UInt64(hostCount)).map { ReplicaID($0) }
        let shards = (1...UInt64(shardCount)).map { ShardID($0) }
        let placement = RendezvousPlacement(members: nodes, replicaCount: replicaCount, shardCount: UInt64(shardCount))
        let grown = RendezvousPlacement(members: nodes + [ReplicaID(UInt64(hostCount) + 1)], replicaCount: replicaCount,
                                         shardCount: UInt64(shardCount))
        let shrunk = RendezvousPlacement(members: nodes.dropFirst(), replicaCount: replicaCount, shardCount: UInt64(shardCount))
        var replicas: [ReplicaID: Int] = [:]
        var firstLeaders: [ReplicaID: Int] = [:]
        var movedOnAdd = 0
        var movedOnRemove = 0
        var votersByShard: [ShardID: [ReplicaID]] = [:]
        for shard in shards {
            let voters = placement.voters(of: shard)
            votersByShard[shard] = voters
            for node in voters { replicas[node, default: 0] += 1 }
            if let first = voters.first { firstLeaders[first, default: 0] += 1 }
            movedOnAdd += Set(grown.voters(of: shard)).subtracting(voters).count
            movedOnRemove += Set(shrunk.voters(of: shard)).subtracting(voters).count
        }
        let balanced = LeaderAssignment(voters: votersByShard)
        var balancedLeaders: [ReplicaID: Int] = [:]
        for leader in balanced.leaders.values { balancedLeaders[leader, default: 0] += 1 }
        let total = Double(shardCount * placement.replicaCount)
        return Report(hostCount: hostCount, shardCount: shardCount, replicaCount: placement.replicaCount,
                      replicas: Spread(counts: nodes.map { replicas[$0] ?? 0 }),
                      rendezvousLeaders: Spread(counts: nodes.map { firstLeaders[$0] ?? 0 }),
                      balancedLeaders: Spread(counts: nodes.map { balancedLeaders[$0] ?? 0 }),
                      movedOnAdd: movedOnAdd, minimumOnAdd: total / Double(hostCount + 1),
                      movedOnRemove: movedOnRemove, minimumOnRemove: total / Double(hostCount))
    }
}
