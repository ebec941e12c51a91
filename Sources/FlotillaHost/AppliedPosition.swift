import FlotillaRaft

/// The last log entry a replica's state reflects: where a restart resumes applying.
public struct AppliedPosition: Sendable, Equatable {
    public var index: LogIndex
    public var term: Term

    public init(index: LogIndex, term: Term) {
        self.index = index
        self.term = term
    }
}
