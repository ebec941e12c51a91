import FlotillaRaft

/// An index together with the term of the entry there: the identity of a log prefix in Raft.
public struct LogPosition: Sendable, Equatable {
    public var index: LogIndex
    public var term: Term

    public init(index: LogIndex, term: Term) {
        self.index = index
        self.term = term
    }

    /// The empty prefix every log starts from.
    public static let origin = LogPosition(index: .zero, term: .zero)
}
