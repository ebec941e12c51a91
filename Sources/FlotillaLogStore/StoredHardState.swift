import FlotillaRaft

/// A replica's term, vote and commit index: what it must never forget across a restart (a
/// forgotten vote could elect two leaders in one term).
public struct StoredHardState: Sendable, Equatable {
    public var term: Term
    public var vote: ReplicaID
    public var commit: LogIndex

    public init(term: Term, vote: ReplicaID, commit: LogIndex) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}
