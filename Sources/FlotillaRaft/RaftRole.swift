/// The part a replica plays in its shard right now.
public enum RaftRole: String, Sendable, Equatable, CustomStringConvertible {
    case follower
    /// Asking for pre-votes before disturbing anyone with a higher term (thesis 9.6).
    case preCandidate = "pre-candidate"
    case candidate
    case leader
    /// Not a voter: receives the log and snapshots, never votes, never campaigns.
    case observer
    /// This replica has applied its own removal; it never takes part in the shard again.
    case removed

    public var description: String { rawValue }
}
