/// What identifies a snapshot: the last entry it covers and the membership in force there. The
/// state machine's data travels separately (the host streams it in chunks); the core only needs
/// the metadata to decide what to send and how to restore.
public struct SnapshotMetadata: Sendable, Equatable, CustomStringConvertible {
    public var index: LogIndex
    public var term: Term
    public var membership: Membership

    public init(index: LogIndex = .zero, term: Term = .zero, membership: Membership = Membership()) {
        self.index = index
        self.term = term
        self.membership = membership
    }

    public var description: String { "index=\(index) term=\(term) \(membership)" }
}
