/// The state a replica must make durable before it acts on it: its term and vote (so that it can
/// never vote twice in a term) and the commit index (so that a restart re-applies committed
/// entries without waiting for a leader).
public struct HardState: Sendable, Equatable, CustomStringConvertible {
    public var term: Term
    public var vote: ReplicaID
    public var commit: LogIndex

    public init(term: Term = .zero, vote: ReplicaID = .none, commit: LogIndex = .zero) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }

    public var description: String { "term=\(term) vote=\(vote) commit=\(commit)" }
}
