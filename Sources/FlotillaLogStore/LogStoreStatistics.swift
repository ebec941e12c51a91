import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What the writer thread has done, for the metrics endpoint: syncs counted with an atomic, and
/// each commit's duration handed to an observer the host installs (a histogram, outside this
/// module: the store depends on no metrics library). Both happen once per write transaction,
/// never per entry.
public final class LogStoreStatistics: Sendable {
    /// fdatasync calls: one per committed transaction (LMDB syncs the data pages at commit)
    /// plus one per explicit sync of an idle queue.
    public let syncs = Atomic<UInt64>(0)
    /// The observer is held in a struct: a bare closure read out of a `Mutex` (`withLock { $0 }`)
    /// is reabstracted through the `inout` and written back wrapped in one more thunk on every
    /// call, a chain that grew by one per transaction until it took a fifth of the writer's time.
    private struct CommitObserver: Sendable {
        let observe: @Sendable (_ nanoseconds: UInt64) -> Void
    }

    private let commitObserver = Mutex<CommitObserver?>(nil)

    init() {}

    /// `observer` is called on the writer thread with the duration of every write transaction
    /// (applying the batches, committing, syncing), in nanoseconds.
    public func observeCommits(_ observer: @escaping @Sendable (_ nanoseconds: UInt64) -> Void) {
        commitObserver.withLock { $0 = CommitObserver(observe: observer) }
    }

    func recordCommit(startedNanoseconds: UInt64) {
        syncs.wrappingAdd(1, ordering: .relaxed)
        let elapsed = Self.monotonicNanoseconds() &- startedNanoseconds
        commitObserver.withLock { $0 }?.observe(elapsed)
    }

    func recordSync() { syncs.wrappingAdd(1, ordering: .relaxed) }

    static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
