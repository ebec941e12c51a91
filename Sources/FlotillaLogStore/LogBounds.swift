import FlotillaRaft

/// What part of a replica's log the store holds: entries `firstIndex...lastIndex`, everything up
/// to and including `compacted` having been dropped (its term is kept because Raft needs the term
/// of the entry just before the first one it sends).
public struct LogBounds: Sendable, Equatable {
    /// The last dropped entry (or the snapshot the log was reset to); `.origin` when none.
    public var compacted: LogPosition
    /// The last entry held; equal to `compacted.index` when the log holds no entry.
    public var lastIndex: LogIndex

    public init(compacted: LogPosition, lastIndex: LogIndex) {
        self.compacted = compacted
        self.lastIndex = lastIndex
    }

    /// The first index the store can return an entry for.
    public var firstIndex: LogIndex { compacted.index.next }

    /// Whether the log holds no entry at all.
    public var isEmpty: Bool { lastIndex <= compacted.index }

    /// The number of entries held.
    public var entryCount: UInt64 { isEmpty ? 0 : lastIndex.rawValue - compacted.index.rawValue }

    /// A replica the store has never seen.
    public static let empty = LogBounds(compacted: .origin, lastIndex: .zero)
}
