import FlotillaRaft

/// A shard's members as its `STATUS` reports them: what a rebalance plans from.
public struct ShardMembership: Sendable, Equatable {
    public var voters: [ReplicaID]
    public var observers: [ReplicaID]
    /// Replicas ever removed from the shard: a shard never admits them again, so a plan must
    /// not put the shard back on one of those hosts.
    public var removed: Set<ReplicaID>
    public var leader: ReplicaID

    public init(voters: [ReplicaID], observers: [ReplicaID] = [], removed: Set<ReplicaID> = [], leader: ReplicaID = .none) {
        self.voters = voters
        self.observers = observers
        self.removed = removed
        self.leader = leader
    }
}
