import FlotillaRaft

/// Why a NodeHost request did not succeed. Every case but `timeout` promises the request was
/// not applied.
public enum NodeHostError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownShard(ShardID)
    /// This replica is not the leader; `leader` is the one it knows (`.none` when none).
    case notLeader(leader: ReplicaID)
    case noLeader
    case busy(String)
    /// No answer in time; the request may or may not have been applied.
    case timeout
    case shuttingDown
    case notCaughtUp(String)
    case invalid(String)
    case failed(String)

    public var description: String {
        switch self {
        case .unknownShard(let shard): return "shard \(shard) is not hosted here"
        case .notLeader(let leader): return "not the leader (leader=\(leader))"
        case .noLeader: return "the shard has no leader right now"
        case .busy(let detail): return "busy: \(detail)"
        case .timeout: return "no answer in time; the request may or may not have been applied"
        case .shuttingDown: return "the host is shutting down"
        case .notCaughtUp(let detail): return detail
        case .invalid(let detail): return detail
        case .failed(let detail): return detail
        }
    }

    init(_ error: ProposalError) {
        switch error {
        case .notLeader(let leader): self = leader == .none ? .noLeader : .notLeader(leader: leader)
        case .busy(let detail): self = .busy(detail)
        // The leader is handing over (leader balance does so on its own): for the request
        // that is an election, not back-pressure, so the router waits it out as one and a
        // client sees no error for a transfer it did not ask for.
        case .transferInProgress: self = .noLeader
        case .membershipChangePending: self = .busy("a membership change is still pending")
        case .invalidMembershipChange(let detail): self = .invalid(detail)
        case .notCaughtUp(let detail): self = .notCaughtUp(detail)
        case .removed: self = .invalid("this replica was removed from the shard")
        }
    }
}
