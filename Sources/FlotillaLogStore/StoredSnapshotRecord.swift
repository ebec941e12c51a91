import FlotillaRaft

/// The latest snapshot of a replica: where it ends in the log, the membership at that point
/// (encoded by the caller, so the store need not know the membership type) and, when the
/// snapshot lives in a file of the data dir, that file's name.
public struct StoredSnapshotRecord: Sendable, Equatable {
    public var index: LogIndex
    public var term: Term
    public var membership: [UInt8]
    public var fileName: String?

    public init(index: LogIndex, term: Term, membership: [UInt8], fileName: String? = nil) {
        self.index = index
        self.term = term
        self.membership = membership
        self.fileName = fileName
    }
}
