/// One record of a replica's log.
public struct Entry: Sendable, Equatable {
    public var index: LogIndex
    public var term: Term
    public var payload: EntryPayload

    public init(index: LogIndex, term: Term, payload: EntryPayload) {
        self.index = index
        self.term = term
        self.payload = payload
    }

    /// What the entry costs against message and in-flight byte limits: the payload plus a fixed
    /// allowance for index, term and framing, so that empty entries are never free.
    public var sizeBytes: Int { 16 + payload.sizeBytes }
}

/// What an entry carries. The core never looks inside a command; it does look inside membership
/// changes, because they change who votes.
public enum EntryPayload: Sendable, Equatable {
    /// The entry a new leader appends at the start of its term, so that it can commit (Raft
    /// paper, section 8) and serve reads.
    case empty
    /// An opaque client command for the state machine.
    case command([UInt8])
    /// A change to the shard's membership, effective when applied.
    case membershipChange(MembershipChange)

    public var sizeBytes: Int {
        switch self {
        case .empty: return 0
        case .command(let bytes): return bytes.count
        case .membershipChange(let change): return 17 + change.address.utf8.count
        }
    }
}
