/// Why the core refused a proposal, a read, or an administrative request. Every case promises
/// that nothing was appended.
public enum ProposalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Only a leader accepts proposals; `leader` is the one this replica knows, or `.none`.
    case notLeader(leader: ReplicaID)
    /// Too much is waiting (uncommitted bytes, pending reads): back off and retry.
    case busy(String)
    /// A leadership transfer is under way; proposals wait until it ends.
    case transferInProgress
    /// A previous membership change is not applied yet; changes go one at a time.
    case membershipChangePending
    /// The change makes no sense against the current membership.
    case invalidMembershipChange(String)
    /// An observer may not be promoted while it lags; the detail says by how much.
    case notCaughtUp(String)
    /// This replica has been removed from the shard.
    case removed

    public var description: String {
        switch self {
        case .notLeader(let leader): return "not the leader (leader=\(leader))"
        case .busy(let detail): return "busy: \(detail)"
        case .transferInProgress: return "leadership transfer in progress"
        case .membershipChangePending: return "a membership change is still pending"
        case .invalidMembershipChange(let detail): return "invalid membership change: \(detail)"
        case .notCaughtUp(let detail): return "not caught up: \(detail)"
        case .removed: return "this replica was removed from the shard"
        }
    }
}
