import Synchronization

/// Counts of things that happen on the step workers' threads, for the metrics endpoint: plain
/// atomics (relaxed), so that counting costs no lock and no allocation on the hot path, and the
/// host needs no metrics library. A scrape reads them.
public final class HostCounters: Sendable {
    /// Elections started by this host's replicas (a replica became candidate).
    public let electionsStarted = Atomic<UInt64>(0)
    /// Times a replica on this host became leader.
    public let leadershipsWon = Atomic<UInt64>(0)
    /// Requests refused with `busy` by a step worker (queue full, too many waiting on a shard).
    public let busyRefusals = Atomic<UInt64>(0)
    /// Snapshots this host's replicas installed from a leader.
    public let snapshotsInstalled = Atomic<UInt64>(0)

    public init() {}

    @inline(__always)
    static func increment(_ counter: borrowing Atomic<UInt64>) {
        counter.wrappingAdd(1, ordering: .relaxed)
    }
}
