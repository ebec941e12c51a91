/// A `RaftLogReader` held in memory, with the write operations a caller performs when it
/// persists a `Ready`. Used by the scenario tests and the simulator, where "durable" means
/// "written here": a simulated crash keeps this object and loses the core.
public final class MemoryRaftLog: RaftLogReader {
    public private(set) var hardState: HardState
    public private(set) var snapshot: SnapshotMetadata
    /// The entry just before the first stored one (compacted, or the snapshot's).
    public private(set) var offsetIndex: LogIndex = .zero
    public private(set) var offsetTerm: Term = .zero
    /// Entries after `offsetIndex`, contiguous.
    public private(set) var storedEntries: [Entry] = []

    /// An empty log (a replica that waits to be added), or, given the initial members, the
    /// bootstrap log of `Membership.bootstrapEntries()`, committed.
    public init(bootstrap membership: Membership = Membership()) {
        snapshot = SnapshotMetadata()
        storedEntries = membership.bootstrapEntries()
        hardState = storedEntries.isEmpty ? HardState() : HardState(term: Term(1), vote: .none, commit: LogIndex(UInt64(storedEntries.count)))
    }

    public var firstIndex: LogIndex { offsetIndex.next }
    public var lastIndex: LogIndex { LogIndex(offsetIndex.rawValue + UInt64(storedEntries.count)) }

    public func term(at index: LogIndex) -> Term? {
        if index == offsetIndex { return offsetTerm }
        if index == snapshot.index { return snapshot.term }
        guard index > offsetIndex, index <= lastIndex else { return nil }
        return storedEntries[position(of: index)].term
    }

    public func entries(from: LogIndex, through: LogIndex, bytesMax: Int) -> [Entry] {
        guard from <= through, from > offsetIndex, through <= lastIndex else { return [] }
        return storedEntries[position(of: from)...position(of: through)].prefix(bytesMax: bytesMax)
    }

    private func position(of index: LogIndex) -> Int { Int(index.rawValue - offsetIndex.rawValue - 1) }

    /// Persists what a `Ready` asks for, in the order a real store would: snapshot, then
    /// entries (overwriting any conflicting suffix), then the hard state.
    public func persist(_ ready: Ready) {
        if let metadata = ready.snapshot { install(metadata) }
        append(ready.entries)
        if let state = ready.hardState { hardState = state }
    }

    /// Appends entries, dropping every stored entry at or after the first new index.
    public func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        precondition(first.index > offsetIndex, "append below the compaction point")
        precondition(first.index <= lastIndex.next, "append leaves a gap")
        storedEntries.removeSubrange(position(of: first.index)...)
        storedEntries.append(contentsOf: entries)
    }

    /// Replaces the log with a received snapshot, keeping entries after it only when the log
    /// agrees with the snapshot at its index (Raft paper, figure 13, step 6).
    public func install(_ metadata: SnapshotMetadata) {
        if metadata.index > offsetIndex, metadata.index <= lastIndex, term(at: metadata.index) == metadata.term {
            storedEntries.removeFirst(position(of: metadata.index) + 1)
        } else {
            storedEntries = []
        }
        offsetIndex = metadata.index
        offsetTerm = metadata.term
        snapshot = metadata
    }

    /// Records a snapshot the application took locally at an applied index, then drops entries
    /// through `compactThrough`, which is clamped to the snapshot index.
    public func recordSnapshot(_ metadata: SnapshotMetadata, compactThrough: LogIndex) {
        precondition(metadata.index <= lastIndex, "snapshot beyond the log")
        if metadata.index > snapshot.index { snapshot = metadata }
        compact(through: min(compactThrough, snapshot.index))
    }

    /// Drops entries through `index` (never past the latest snapshot).
    public func compact(through index: LogIndex) {
        let through = min(index, snapshot.index, lastIndex)
        guard through > offsetIndex else { return }
        let newOffsetTerm = term(at: through) ?? snapshot.term
        storedEntries.removeFirst(position(of: through) + 1)
        offsetIndex = through
        offsetTerm = newOffsetTerm
    }
}
