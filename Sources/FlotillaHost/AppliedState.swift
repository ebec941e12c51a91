import FlotillaRaft

/// A replica's state machine as applied through `appliedIndex`: what a simulator compares
/// across hosts (replicas at the same index must hold the same state).
package struct AppliedState: Sendable {
    package var shard: ShardID
    package var appliedIndex: LogIndex
    package var role: RaftRole
    package var term: Term
    package var stateMachine: KeyValueStateMachine
    /// The latest membership in the replica's log (committed or not).
    package var latestMembership: Membership
    package var leader: ReplicaID
    package var commitIndex: LogIndex
    package var lastIndex: LogIndex
    /// Quiesced: not ticking (see `StepWorker.isQuiesced`).
    package var isQuiet: Bool
    package var ticksSinceActivity: Int
    package var electionElapsedTicks: Int
}
