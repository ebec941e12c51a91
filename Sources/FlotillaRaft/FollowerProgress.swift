/// A leader's public view of one follower's replication, for status reports and operators.
public struct FollowerProgress: Sendable, Equatable, CustomStringConvertible {
    public var match: LogIndex
    public var next: LogIndex
    public var state: String
    public var pendingSnapshotIndex: LogIndex
    public var inflightMessages: Int
    public var recentlyActive: Bool

    public var description: String {
        "\(state) match=\(match) next=\(next)" + (state == "snapshot" ? " pending-snapshot=\(pendingSnapshotIndex)" : "")
            + (inflightMessages > 0 ? " inflight=\(inflightMessages)" : "")
    }
}

extension RaftNode {
    /// On a leader: everything is committed, every follower holds the whole log, and no read
    /// waits for confirmation (a shard in this state may fall quiet). Cheap: no allocation.
    public var isReplicationIdle: Bool {
        guard state == .leader, log.committed == log.lastIndex, pendingReadCount == 0 else { return false }
        for peer in progress.values where peer.match != log.lastIndex { return false }
        return true
    }

    /// Replication progress of every other member, on a leader; empty elsewhere.
    public var followerProgress: [ReplicaID: FollowerProgress] {
        progress.mapValues { peer in
            FollowerProgress(match: peer.match, next: peer.next, state: peer.state.rawValue,
                             pendingSnapshotIndex: peer.pendingSnapshotIndex,
                             inflightMessages: peer.inflight.count, recentlyActive: peer.recentlyActive)
        }
    }
}
