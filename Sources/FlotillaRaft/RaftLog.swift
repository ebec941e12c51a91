/// The core's view of the log: the caller's durable `RaftLogReader` plus what the core has
/// appended but the caller has not yet made durable (etcd calls it the "unstable" part). Only
/// entries below `unstableOffset` are read from storage: at and above it the unstable entries
/// win, since a conflicting suffix in storage is about to be overwritten.
struct RaftLog {
    let storage: any RaftLogReader
    var unstableSnapshot: SnapshotMetadata?
    var unstableEntries: [Entry] = []
    var unstableOffset: LogIndex
    /// The last entry handed to the caller to persist (in a `Ready`). Entries after
    /// `unstableOffset` up to here are being written; the ones after it are new. Between
    /// `unstableOffset.previous` and `lastIndex`.
    var handedThrough: LogIndex
    var committed: LogIndex
    var applied: LogIndex

    init(storage: any RaftLogReader, applied: LogIndex) {
        self.storage = storage
        unstableOffset = storage.lastIndex.next
        handedThrough = storage.lastIndex
        let firstUsable = storage.firstIndex.previous
        // The caller applies only committed entries, so its applied index is a commit index
        // too: a caller whose state machine is durable (written with its log) may be ahead of
        // the commit index in the hard state, which is not written on its own. Clamping the
        // applied index to that older commit would apply entries a second time.
        committed = max(storage.hardState.commit, storage.snapshot.index, firstUsable, applied)
        committed = min(committed, storage.lastIndex)
        self.applied = max(min(applied, committed), storage.snapshot.index, firstUsable)
    }

    var firstIndex: LogIndex {
        if let snapshot = unstableSnapshot { return snapshot.index.next }
        return storage.firstIndex
    }

    var lastIndex: LogIndex {
        if let last = unstableEntries.last { return last.index }
        if let snapshot = unstableSnapshot { return snapshot.index }
        return unstableOffset.previous
    }

    var lastTerm: Term { term(at: lastIndex) ?? .zero }

    /// The newest snapshot: the one being installed, or the durable one.
    var snapshot: SnapshotMetadata { unstableSnapshot ?? storage.snapshot }

    func term(at index: LogIndex) -> Term? {
        if index >= unstableOffset {
            guard let first = unstableEntries.first, index <= lastIndex else {
                return nil
            }
            return unstableEntries[Int(index.rawValue - first.index.rawValue)].term
        }
        if let snapshot = unstableSnapshot {
            return index == snapshot.index ? snapshot.term : nil
        }
        return storage.term(at: index)
    }

    func matchTerm(_ index: LogIndex, _ term: Term) -> Bool { self.term(at: index) == term }

    /// Whether a log ending at (`index`, `term`) is at least as up to date as ours (paper, 5.4.1).
    func isUpToDate(lastIndex index: LogIndex, lastTerm term: Term) -> Bool {
        term > lastTerm || (term == lastTerm && index >= lastIndex)
    }

    /// Entries `from...through` limited to `bytesMax` (at least one), or nil when part of the
    /// range is compacted away.
    func entries(from: LogIndex, through: LogIndex, bytesMax: Int) -> [Entry]? {
        if from > through { return [] }
        if from < firstIndex { return nil }
        var result: [Entry] = []
        var bytes = 0
        if from < unstableOffset {
            let storedThrough = min(through, unstableOffset.previous)
            let stored = storage.entries(from: from, through: storedThrough, bytesMax: bytesMax)
            if stored.isEmpty { return nil }
            result = stored
            bytes = stored.reduce(0) { $0 + $1.sizeBytes }
            if stored.last!.index < storedThrough || bytes >= bytesMax { return result }
        }
        let start = max(from, unstableOffset)
        if start <= through, let first = unstableEntries.first {
            let startPosition = Int(start.rawValue - first.index.rawValue)
            let endPosition = min(unstableEntries.count - 1, Int(through.rawValue - first.index.rawValue))
            if startPosition <= endPosition {
                result += unstableEntries[startPosition...endPosition].prefix(bytesMax: bytesMax, bytesAlready: bytes)
            }
        }
        return result
    }

    /// The index of the first entry that disagrees with ours, or nil when all agree.
    func firstConflict(in entries: [Entry]) -> LogIndex? {
        for entry in entries where !matchTerm(entry.index, entry.term) {
            return entry.index
        }
        return nil
    }

    /// The largest index at or below `index` whose term is at or below `term`: where a log with
    /// `term` at `index` may last agree with ours. Lets a leader skip a whole term of a
    /// follower's divergent entries per round trip instead of one entry.
    func conflictHint(index: LogIndex, term: Term) -> (index: LogIndex, term: Term) {
        var candidate = min(index, lastIndex)
        while candidate > .zero {
            guard let candidateTerm = self.term(at: candidate) else { break }
            if candidateTerm <= term { return (candidate, candidateTerm) }
            candidate = candidate.previous
        }
        return (candidate, self.term(at: candidate) ?? .zero)
    }

    /// The unstable entries not yet handed to the caller.
    var unhandedEntries: ArraySlice<Entry> {
        guard let first = unstableEntries.first else { return [] }
        let start = max(0, Int(handedThrough.rawValue) - Int(first.index.rawValue) + 1)
        return start < unstableEntries.count ? unstableEntries[start...] : []
    }

    var hasUnhandedEntries: Bool { lastIndex > handedThrough && !unstableEntries.isEmpty }

    /// Appends entries, truncating any unstable or stored suffix they overwrite. Overwritten
    /// entries that were handed to the caller are handed again (their replacements are new).
    mutating func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        precondition(first.index > committed, "overwriting committed entry \(first.index) (commit \(committed))")
        precondition(first.index <= lastIndex.next, "append leaves a gap at \(first.index)")
        handedThrough = min(handedThrough, first.index.previous)
        let unstableEnd = unstableOffset.rawValue + UInt64(unstableEntries.count)
        if first.index.rawValue == unstableEnd {
            unstableEntries.append(contentsOf: entries)
        } else if first.index <= unstableOffset {
            unstableOffset = first.index
            unstableEntries = entries
        } else {
            unstableEntries.removeSubrange(Int(first.index.rawValue - unstableOffset.rawValue)...)
            unstableEntries.append(contentsOf: entries)
        }
    }

    /// Appends when our log matches at (`previousIndex`, `previousTerm`), returning the index of
    /// the last entry now known to match the leader's, or nil on mismatch.
    mutating func appendIfMatching(previousIndex: LogIndex, previousTerm: Term, entries: [Entry], commit: LogIndex) -> (lastNew: LogIndex, appendedFrom: LogIndex?)? {
        guard matchTerm(previousIndex, previousTerm) else { return nil }
        let lastNew = LogIndex(previousIndex.rawValue + UInt64(entries.count))
        let conflict = firstConflict(in: entries)
        if let conflict {
            append(Array(entries[Int(conflict.rawValue - previousIndex.rawValue - 1)...]))
        }
        self.commit(to: min(commit, lastNew))
        return (lastNew, conflict)
    }

    mutating func commit(to index: LogIndex) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "commit \(index) beyond last index \(lastIndex)")
        committed = index
    }

    /// Replaces the log with a snapshot being installed.
    mutating func restore(_ metadata: SnapshotMetadata) {
        unstableSnapshot = metadata
        unstableEntries = []
        unstableOffset = metadata.index.next
        handedThrough = metadata.index
        committed = metadata.index
        // `applied` moves to the snapshot's index when the caller reports the snapshot loaded
        // (`advance`), so that the applied index never runs ahead of the state machine.
    }

    /// The caller made entries through (`index`, `term`) durable.
    mutating func markStable(through index: LogIndex, term: Term) {
        guard index >= unstableOffset, matchTerm(index, term) else { return }
        let count = Int(index.rawValue - unstableOffset.rawValue + 1)
        unstableEntries.removeFirst(count)
        unstableOffset = index.next
        handedThrough = max(handedThrough, index)
    }

    mutating func markSnapshotStable(_ metadata: SnapshotMetadata) {
        if unstableSnapshot == metadata { unstableSnapshot = nil }
    }

    /// The last index that is durable, or in the ready being persisted.
    var durableLastIndex: LogIndex { unstableOffset.previous }
}
