/// The durable part of a replica's log, as the core sees it: read-only, synchronous, and owned
/// by the caller, who writes to it what `Ready` asks to persist before calling `advance`.
///
/// Entries before `firstIndex` are compacted away. Compaction may lag the latest snapshot (a
/// tail is kept for followers that are only a little behind) but never passes it.
public protocol RaftLogReader: AnyObject {
    /// The durable term, vote and commit; read once when the core starts.
    var hardState: HardState { get }
    /// The latest snapshot whose data the caller can send; index zero, with the bootstrap
    /// membership, before any snapshot.
    var snapshot: SnapshotMetadata { get }
    /// The first entry still stored (`lastIndex + 1` when the log is empty).
    var firstIndex: LogIndex { get }
    /// The last durable index (the snapshot index when nothing is stored after it).
    var lastIndex: LogIndex { get }
    /// The term of the entry at `index`, for `firstIndex - 1 ... lastIndex`, and at the
    /// snapshot's index; nil elsewhere.
    func term(at index: LogIndex) -> Term?
    /// Entries `from...through`, stopping once `bytesMax` is reached but always at least one
    /// when the range is not empty. Empty when any of the range is compacted away.
    func entries(from: LogIndex, through: LogIndex, bytesMax: Int) -> [Entry]
}
