import FlotillaRaft

/// One replica of one shard moving from a host to another: the new replica is added (as an
/// observer, then promoted) before the old one is removed, so the shard never has fewer voters
/// than it started with. `from` is `.none` for a replica only added (a shard short of its
/// replica count), `to` is `.none` for one only removed (a shard over it).
public struct ReplicaMove: Sendable, Equatable {
    public var shard: ShardID
    public var from: ReplicaID
    public var to: ReplicaID
    public var step: MoveStep

    public init(shard: ShardID, from: ReplicaID, to: ReplicaID, step: MoveStep = .queued) {
        self.shard = shard
        self.from = from
        self.to = to
        self.step = step
    }

    /// The same move, whatever its step.
    public func isSameMove(as other: ReplicaMove) -> Bool {
        shard == other.shard && from == other.from && to == other.to
    }
}
