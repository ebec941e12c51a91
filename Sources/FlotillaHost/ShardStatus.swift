import FlotillaRaft

/// A shard's state as one replica sees it (the `STATUS` command).
public struct ShardStatus: Sendable, Equatable {
    public var shard: ShardID
    public var replica: ReplicaID
    public var role: RaftRole
    public var leader: ReplicaID
    public var term: Term
    public var commit: LogIndex
    public var applied: LogIndex
    public var last: LogIndex
    public var snapshot: LogIndex
    public var membership: Membership
    public var keys: Int
    /// The shard is idle and quiesced on this replica: no ticks, no heartbeats.
    public var quiet: Bool
    /// On a leader: how far each other member (voter or observer) is behind the leader's last
    /// index, from the leader's replication progress. Empty on any other role.
    public var lagEntries: [ReplicaID: UInt64] = [:]
    /// The cluster's shard count as this host knows it (0 on a joining host not told yet), so
    /// that a tool asking one shard learns how many there are.
    public var shardCount: UInt64 = 0

    public init(shard: ShardID, replica: ReplicaID, role: RaftRole, leader: ReplicaID, term: Term, commit: LogIndex,
                applied: LogIndex, last: LogIndex, snapshot: LogIndex, membership: Membership, keys: Int, quiet: Bool,
                lagEntries: [ReplicaID: UInt64] = [:], shardCount: UInt64 = 0) {
        self.shard = shard
        self.replica = replica
        self.role = role
        self.leader = leader
        self.term = term
        self.commit = commit
        self.applied = applied
        self.last = last
        self.snapshot = snapshot
        self.membership = membership
        self.keys = keys
        self.quiet = quiet
        self.lagEntries = lagEntries
        self.shardCount = shardCount
    }

    /// `name=value` pairs, as the line protocol prints them. `removed` lists the replicas ever
    /// removed, which the shard never admits again: a rebalance plans around them.
    public var line: String {
        let voters = membership.voters.map(\.description).joined(separator: ",")
        let observers = membership.observers.map(\.description).joined(separator: ",")
        let removed = membership.removedSorted.map(\.description).joined(separator: ",")
        let lag = lagEntries.keys.sorted().map { "\($0):\(lagEntries[$0]!)" }.joined(separator: ",")
        return "shard=\(shard) replica=\(replica) role=\(role) leader=\(leader) term=\(term) commit=\(commit) applied=\(applied) last=\(last) snapshot=\(snapshot) voters=\(voters) observers=\(observers) keys=\(keys) quiet=\(quiet) lag=\(lag) shards=\(shardCount) removed=\(removed)"
    }
}
