import FlotillaHost
import FlotillaHostTesting
import FlotillaRaft

/// A host's store in the simulation, with durability modelled: a write submitted without
/// waiting is pending until the simulator syncs it (an event, later), and only then in the
/// durable store (a `MemoryHostLogStore`) that survives a crash; a crash loses every pending
/// write. The completion of a synced write is delivered as an event of its own, so a crash can
/// also fall between a write becoming durable and the host hearing of it. A sync may fail: a
/// prefix of the pending writes may have reached the disk, and every one of them fails with
/// `HostStoreFailure` (the host must fail-stop), as does every write after it. While the store
/// is full it refuses writes instead (a refusal that passes), and a refused worker's later
/// writes until it resumes, as the protocol requires. Writes become durable in the order submitted,
/// whichever form submitted them, as the protocol requires; reads see durable writes only.
final class SimulatedHostLogStore: HostLogStore, @unchecked Sendable {
    struct PendingWrite {
        var updates: [ReplicaLogUpdate]
        var completion: @Sendable (Result<Void, any Error>) -> Void
        /// The worker whose ordered stream it belongs to (nil: submitted without one).
        var worker: StepWorkerID?
    }

    /// What the store answers while it has no room (a full disk or map): a refusal that
    /// passes, not a `HostStoreFailure`.
    struct NoRoom: Error, CustomStringConvertible {
        var description: String { "simulated: no space left on device" }
    }

    static let syncFailure = "simulated: fdatasync failed (EIO)"
    static let failedEarlier = "simulated: the store failed earlier"

    let durable = MemoryHostLogStore()
    private(set) var pending: [PendingWrite] = []
    /// A write was submitted without waiting (the simulator schedules a sync).
    var submitted: () -> Void = {}
    /// Pending writes a blocking write made durable (or refused) ahead of itself: their
    /// completions are due.
    var madeDurable: ([(write: PendingWrite, refused: Bool)]) -> Void = { _ in }
    /// A sync failed: every later write fails too, until the host's process restarts (as a
    /// store that lost pages to a failed fsync can promise nothing again).
    private(set) var isFailed = false
    /// While set, every write is refused (`NoRoom`), as a full disk refuses it.
    var isFull = false
    /// Workers one of whose writes was refused: their later writes are refused too until they
    /// resume (`resumeWrites(from:)`), so a worker's writes never become durable with a gap.
    private(set) var refusedWorkers: Set<StepWorkerID> = []
    /// Writes refused since the simulation began, for the report.
    private(set) var refusalCount = 0
    /// Writes submitted (either form) since the simulation began, for the report.
    private(set) var writeCount = 0

    func persist(_ updates: [ReplicaLogUpdate]) throws {
        writeCount += 1
        if isFailed { throw HostStoreFailure(Self.failedEarlier) }
        let earlier = makeDurable(count: pending.count)
        if !earlier.isEmpty { madeDurable(earlier) }
        if isFull {
            refusalCount += 1
            throw NoRoom()
        }
        write(updates)
    }

    func persist(_ updates: [ReplicaLogUpdate], completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        writeCount += 1
        pending.append(PendingWrite(updates: updates, completion: completion, worker: nil))
        submitted()
    }

    func persist(_ updates: [ReplicaLogUpdate], from worker: StepWorkerID,
                 completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        writeCount += 1
        pending.append(PendingWrite(updates: updates, completion: completion, worker: worker))
        submitted()
    }

    func resumeWrites(from worker: StepWorkerID) { refusedWorkers.remove(worker) }

    /// The first `count` pending writes are taken by the store, in order: each becomes durable,
    /// or is refused (the store full, or its worker's stream refused). Returns them, the
    /// refused ones with `refused` set.
    func makeDurable(count: Int) -> [(write: PendingWrite, refused: Bool)] {
        let writes = Array(pending.prefix(count))
        pending.removeFirst(writes.count)
        return writes.map { pendingWrite in
            if isFull || pendingWrite.worker.map({ refusedWorkers.contains($0) }) ?? false {
                if let worker = pendingWrite.worker { refusedWorkers.insert(worker) }
                refusalCount += 1
                return (pendingWrite, true)
            }
            write(pendingWrite.updates)
            return (pendingWrite, false)
        }
    }

    /// An update the log could not take as a contiguous log (entries leaving a gap after the
    /// last stored one) is refused and reported, rather than trapping in the memory store.
    private(set) var refusedUpdate: String?

    private func write(_ updates: [ReplicaLogUpdate]) {
        let stored = Dictionary(uniqueKeysWithValues: ((try? durable.loadReplicas()) ?? []).map { ($0.shard, $0) })
        for update in updates {
            guard let first = update.entries.first, let replica = stored[update.shard], update.snapshot == nil else { continue }
            if first.index > replica.lastIndex.next || first.index < replica.firstIndex {
                refusedUpdate = refusedUpdate ?? "shard \(update.shard): entries \(first.index)...\(update.entries.last!.index) written to a log holding \(replica.firstIndex)...\(replica.lastIndex)"
                return
            }
        }
        try! durable.persist(updates)
    }

    /// A failed sync: `durableCount` of the pending writes reached the disk anyway, the rest are
    /// lost; all of them are returned, to be failed.
    func failPending(durableCount: Int) -> [PendingWrite] {
        let reached = isFailed ? [] : makeDurable(count: min(durableCount, pending.count)).map(\.write)
        isFailed = true
        let lost = pending
        pending = []
        return reached + lost
    }

    /// Takes the completion of the write submitted last, leaving the write pending with none
    /// (for the unsafe mode that completes writes before they are durable).
    func takeLastCompletion() -> PendingWrite? {
        guard let last = pending.last else { return nil }
        pending[pending.count - 1].completion = { _ in }
        return last
    }

    /// The host crashed: what was not durable is gone.
    func crash() {
        pending = []
        isFailed = false
        refusedWorkers = []
    }

    func loadReplicas() throws -> [StoredReplica] { try durable.loadReplicas() }

    func entries(shard: ShardID, from: LogIndex, through: LogIndex, bytesMax: Int) throws -> [Entry] {
        try durable.entries(shard: shard, from: from, through: through, bytesMax: bytesMax)
    }

    func term(shard: ShardID, at index: LogIndex) throws -> Term? { try durable.term(shard: shard, at: index) }

    func stateRows(shard: ShardID, after: [UInt8]?, limit: Int) throws -> [StoredKeyValue] {
        try durable.stateRows(shard: shard, after: after, limit: limit)
    }
}
