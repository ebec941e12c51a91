import FlotillaRaft

/// Leadership of one shard handed from its leader to another of its voters, for leader balance.
public struct LeaderTransfer: Sendable, Equatable {
    public var shard: ShardID
    public var from: ReplicaID
    public var to: ReplicaID

    public init(shard: ShardID, from: ReplicaID, to: ReplicaID) {
        self.shard = shard
        self.from = from
        self.to = to
    }
}
