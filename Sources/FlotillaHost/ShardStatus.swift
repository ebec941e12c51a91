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

    /// `name=value` pairs, as the line protocol prints them.
    public var line: String {
        let voters = membership.voters.map(\.description).joined(separator: ",")
        let observers = membership.observers.map(\.description).joined(separator: ",")
        return "shard=\(shard) replica=\(replica) role=\(role) leader=\(leader) term=\(term) commit=\(commit) applied=\(applied) last=\(last) snapshot=\(snapshot) voters=\(voters) observers=\(observers) keys=\(keys) quiet=\(quiet)"
    }
}
