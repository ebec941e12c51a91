import FlotillaRaft

/// Which restored shards a host takes, and with which voters: as `flotilla serve --replicas`
/// places a new cluster's shards, so a cluster restored onto more hosts than the replica count
/// stores each shard `replicaCount` times, not once per host.
public struct RestorePlacement: Sendable {
    /// The host being restored.
    public var node: ReplicaID
    /// Voters per shard (part of the restored cluster's identity).
    public var replicaCount: Int
    /// Each shard's voters.
    public var voters: @Sendable (ShardID) -> [ReplicaID]

    public init(node: ReplicaID, replicaCount: Int, voters: @escaping @Sendable (ShardID) -> [ReplicaID]) {
        self.node = node
        self.replicaCount = replicaCount
        self.voters = voters
    }
}
