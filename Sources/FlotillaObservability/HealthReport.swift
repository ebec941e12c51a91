import FlotillaRaft

/// `GET /health`: healthy when every shard this host holds knows a leader. Pure, so the rule is
/// tested without a host: a removed replica is not held (it is on its way out), and a host
/// holding nothing yet (a joining host) is healthy.
public struct HealthReport: Sendable, Equatable {
    /// The shards held here that know no leader, in order.
    public var shardsWithoutLeader: [ShardID]

    public init(shards: [(shard: ShardID, role: RaftRole, leader: ReplicaID)]) {
        shardsWithoutLeader = shards.filter { $0.role != .removed && $0.leader == .none }.map(\.shard).sorted()
    }

    public var isHealthy: Bool { shardsWithoutLeader.isEmpty }

    /// 200 or 503.
    public var statusCode: Int { isHealthy ? 200 : 503 }

    /// `ok`, or which shards have no leader.
    public var body: String {
        if isHealthy { return "ok\n" }
        return "no leader: " + shardsWithoutLeader.map { "shard \($0)" }.joined(separator: ", ") + "\n"
    }
}
