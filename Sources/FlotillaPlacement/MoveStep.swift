/// How far a replica move has come. Each step is written to the cluster map *before* it is
/// taken, so whoever drives the moves after a crash starts again at the recorded step; every
/// step is idempotent (add the observer unless it is a member, promote unless it is a voter,
/// remove unless it is gone), so taking a step twice does no harm.
public enum MoveStep: String, Sendable, Equatable, CaseIterable {
    /// Planned, nothing done yet.
    case queued
    /// Adding the new host as an observer of the shard.
    case adding
    /// Waiting until the observer is caught up, then promoting it to voter.
    case promoting
    /// Removing the replica of the host giving it up (leadership handed over first when it leads).
    case removing
}
