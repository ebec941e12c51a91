/// What `flotilla bench --direct` routes by: each shard's leader and each host's line-protocol
/// address, merged from the `ROUTES` answers of several hosts (each knows the leaders of the
/// shards it holds). A plain value: each load thread keeps its own copy and corrects it from
/// the leader hints of the answers it reads.
struct RouteTable: Sendable, Equatable {
    /// `leaders[i]` leads shard `i + 1` as far as is known (0: unknown).
    var leaders: [UInt64] = []
    /// Node id to `(host, port)` of its line protocol.
    var addresses: [UInt64: (host: String, port: Int)] = [:]

    var shardCount: UInt64 { UInt64(leaders.count) }

    init() {}

    /// Merges answers: the shard count is the largest any host gave (a joining host knows
    /// none), and a shard's leader is the one a host names for itself (a host that leads the
    /// shard knows it best), else the one most hosts name. A host's own address comes from its
    /// own answer first.
    init(merging answers: [RoutesLine]) {
        let shardCount = answers.map(\.leaders.count).max() ?? 0
        let counted = answers.filter { $0.leaders.count == shardCount }
        leaders = (0..<shardCount).map { position in
            if let claimed = counted.first(where: { $0.leaders[position] == $0.node }) { return claimed.node }
            var votes: [UInt64: Int] = [:]
            for answer in counted where answer.leaders[position] != 0 { votes[answer.leaders[position], default: 0] += 1 }
            return votes.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? 0
        }
        for answer in answers {
            for (node, known) in answer.addresses {
                guard let line = known.line, let split = HostClientAddresses.split(line) else { continue }
                if addresses[node] == nil || node == answer.node {
                    var host = split.host
                    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
                    addresses[node] = (host, split.port)
                }
            }
        }
    }

    func leader(ofShard shard: UInt64) -> UInt64 {
        shard >= 1 && shard <= shardCount ? leaders[Int(shard - 1)] : 0
    }

    /// A hint said `leader` leads `shard` now.
    mutating func learn(leader: UInt64, ofShard shard: UInt64) {
        guard shard >= 1 && shard <= shardCount else { return }
        leaders[Int(shard - 1)] = leader
    }

    static func == (left: RouteTable, right: RouteTable) -> Bool {
        left.leaders == right.leaders && left.addresses.count == right.addresses.count
            && left.addresses.allSatisfy { node, address in right.addresses[node].map { $0 == address } ?? false }
    }
}
