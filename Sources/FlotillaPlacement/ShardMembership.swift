import FlotillaRaft

/// A shard's members as its `STATUS` reports them: what a rebalance plans from.
public struct ShardMembership: Sendable, Equatable {
    public var voters: [ReplicaID]
    public var observers: [ReplicaID]
    /// Replicas ever removed from the shard: a shard never admits them again, so a plan must
    /// not put the shard back on one of those hosts.
    public var removed: Set<ReplicaID>
    public var leader: ReplicaID
    /// How far each other member is behind the leader's log, as the leader reports it (empty
    /// when the status came from a follower): a leadership transfer goes only to a voter known
    /// to be close behind, since a lagging one would first have to catch up.
    public var lagEntries: [ReplicaID: UInt64]

    public init(voters: [ReplicaID], observers: [ReplicaID] = [], removed: Set<ReplicaID> = [], leader: ReplicaID = .none,
                lagEntries: [ReplicaID: UInt64] = [:]) {
        self.voters = voters
        self.observers = observers
        self.removed = removed
        self.leader = leader
        self.lagEntries = lagEntries
    }
}
