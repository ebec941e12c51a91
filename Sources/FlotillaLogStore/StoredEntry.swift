import FlotillaRaft

/// One log entry as the store keeps it. The store does not know the Raft core's entry type on
/// purpose: the payload is whatever bytes the engine encodes (command, membership change, no-op),
/// so the on-disk format does not change when the core's entry type does.
public struct StoredEntry: Sendable, Equatable {
    public var index: LogIndex
    public var term: Term
    public var payload: [UInt8]

    public init(index: LogIndex, term: Term, payload: [UInt8]) {
        self.index = index
        self.term = term
        self.payload = payload
    }
}
