import FlotillaThreads
import CLMDB
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The one thread that runs LMDB write transactions, with group commit.
///
/// Callers queue batches; the thread takes everything queued (up to the transaction limits),
/// applies it in one write transaction and commits it with one fdatasync. The environment is
/// opened with `MDB_NOMETASYNC`, so that fdatasync covers the data pages but the meta page that
/// publishes them is only written, not synced. LMDB keeps the previous meta page valid, so a
/// crash then loses at most that last commit and never corrupts anything. The commit becomes
/// durable with the next fdatasync of the file, which is either the next commit's (when more
/// batches are queued: one sync per transaction under load) or an explicit `mdb_env_sync` when
/// the queue is empty. Only then are the commit's callers told it is durable. Under load this
/// halves the syncs per transaction compared with LMDB's default (data sync, then meta sync)
/// without weakening the promise: a batch reported durable survives SIGKILL and power loss.
final class Writer: @unchecked Sendable {
    private let environment: Environment
    private let configuration: LogStoreConfiguration
    let statistics = LogStoreStatistics()
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [PendingWrite] = []
    private var queueHead = 0
    private var queuedBytes = 0
    private var isStopping = false
    private var hasFinished = false
    private var isSuspended = false
    /// Write transactions committed so far; tests read it to see batches coalesce.
    private var committedTransactions = 0
    /// Set after a failure that leaves durability unknown: every later write is refused.
    private var failure: LogStoreError?
    /// Streams with a refused write, and the refusal: their later writes are refused too until
    /// `resumeStream(_:)` (see `WriteStream`).
    private var refusedStreams: [WriteStream: LogStoreError] = [:]
    /// Writer thread only.
    private var reservation = DataFileReservation()
    /// Rows of replaced or removed states deleted per write transaction.
    static let retiredRowsPerTransaction = 2048
    /// Whether retired state rows may be left to delete: only then does a transaction look
    /// (true at start, for what an earlier run left). Writer thread only.
    private var retiredStatePending = true

    init(environment: Environment, configuration: LogStoreConfiguration) {
        self.environment = environment
        self.configuration = configuration
    }

    func start() {
        let thread = Thread { [self] in
            // The name the kernel shows (perf, top); Foundation's `name` does not set it here.
            nameCurrentThread("flotilla-writer")
            run()
        }
        thread.name = "flotilla-logstore-writer"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Queues a batch, or throws when the store is closed, failed, or the queue is full.
    func submit(_ pending: PendingWrite) throws {
        condition.lock()
        defer { condition.unlock() }
        if isStopping { throw LogStoreError.closed }
        if let failure { throw failure }
        if let stream = pending.stream, let refusal = refusedStreams[stream] { throw refusal }
        let queuedRequests = queue.count - queueHead
        if queuedRequests > 0,
           queuedRequests >= configuration.writeQueueRequestsMax
            || queuedBytes + pending.sizeBytes > configuration.writeQueueBytesMax {
            let busy = LogStoreError.busy(queuedRequests: queuedRequests, queuedBytes: queuedBytes)
            if let stream = pending.stream { refusedStreams[stream] = busy }
            throw busy
        }
        queue.append(pending)
        queuedBytes += pending.sizeBytes
        condition.signal()
    }

    /// Lets a stream's writes through again, once its owner has seen the outcome of every write
    /// it submitted (see `WriteStream`).
    func resumeStream(_ stream: WriteStream) {
        condition.lock()
        refusedStreams[stream] = nil
        condition.unlock()
    }

    /// Why the stream's writes are being refused, nil when they are not.
    func refusal(of stream: WriteStream) -> LogStoreError? {
        condition.lock()
        defer { condition.unlock() }
        return refusedStreams[stream]
    }

    /// Holds the writer between transactions so that tests can queue batches deterministically
    /// (to see them share one transaction, or fill the queue).
    func suspend() {
        condition.lock()
        isSuspended = true
        condition.unlock()
    }

    func resume() {
        condition.lock()
        isSuspended = false
        condition.broadcast()
        condition.unlock()
    }

    var transactionCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return committedTransactions
    }

    /// The number of batches waiting for the writer.
    var queuedRequestCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count - queueHead
    }

    /// Writes what is queued, makes it durable, and stops the thread; later submits throw `closed`.
    func stop() {
        condition.lock()
        isStopping = true
        condition.broadcast()
        while !hasFinished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        var unsynced: [PendingWrite] = []
        while true {
            condition.lock()
            while (queue.count == queueHead && unsynced.isEmpty && !isStopping) || (isSuspended && !isStopping) {
                condition.wait()
            }
            let group = takeGroup()
            let stopping = isStopping
            condition.unlock()
            if !group.isEmpty {
                write(group, unsynced: &unsynced)
            } else if !unsynced.isEmpty {
                syncAndComplete(&unsynced)
            } else if stopping {
                break
            }
        }
        condition.lock()
        hasFinished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Takes queued batches up to the transaction limits (at least one when any is queued).
    /// Called with `condition` locked.
    private func takeGroup() -> [PendingWrite] {
        var group = [PendingWrite]()
        var groupBytes = 0
        while queueHead < queue.count, group.count < configuration.transactionRequestsMax,
              group.isEmpty || groupBytes + queue[queueHead].sizeBytes <= configuration.transactionBytesTarget {
            let pending = queue[queueHead]
            group.append(pending)
            groupBytes += pending.sizeBytes
            queuedBytes -= pending.sizeBytes
            queueHead += 1
        }
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        } else if queueHead > 4096 {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        return group
    }

    /// Applies and commits a group; its accepted batches become `unsynced`, and the batches that
    /// were unsynced before are now durable (the commit's fdatasync covered their meta page).
    private func write(_ group: [PendingWrite], unsynced: inout [PendingWrite]) {
        if let failure = currentFailure() {
            for pending in group { pending.complete(.failure(failure)) }
            return
        }
        while true {
            let outcome: (accepted: [PendingWrite], rejected: [(PendingWrite, LogStoreError)])
            do {
                outcome = try commit(group)
            } catch let failure as LMDBFailure {
                if failure.isMapFull, environment.mapSizeBytes < configuration.mapSizeBytesMax {
                    let grown = min(configuration.mapSizeBytesMax, max(environment.mapSizeBytes * 2, environment.mapSizeBytes + (1 << 20)))
                    do {
                        try environment.setMapSize(grown)
                        continue
                    } catch {
                        fail(group, with: LMDBFailure(code: (error as? LMDBFailure)?.code ?? EIO, operation: "mdb_env_set_mapsize"))
                        return
                    }
                }
                fail(group, with: failure)
                return
            } catch {
                let storeError = error as? LogStoreError ?? .storageFailed(operation: "write", code: EIO, message: "\(error)")
                for pending in group { pending.complete(.failure(storeError)) }
                return
            }
            for (pending, error) in outcome.rejected { pending.complete(.failure(error)) }
            if !outcome.accepted.isEmpty {
                for pending in unsynced { pending.complete(.success(())) }
                unsynced = outcome.accepted
            }
            return
        }
    }

    /// One write transaction over the group. Throws `LMDBFailure` when the transaction as a whole
    /// failed (nothing of it is stored).
    private func commit(_ group: [PendingWrite]) throws -> (accepted: [PendingWrite], rejected: [(PendingWrite, LogStoreError)]) {
        let started = LogStoreStatistics.monotonicNanoseconds()
        // Room on disk first: a commit's new pages (copies of the pages it changes, at most
        // about twice its bytes) must never meet a full disk halfway through LMDB's writes.
        let groupBytes = group.reduce(0) { $0 + $1.sizeBytes }
        try reservation.ensure(environment, headroomBytes: 2 * groupBytes + (256 << 10))
        let transaction = try environment.beginWrite()
        var accepted = [PendingWrite]()
        var rejected = [(PendingWrite, LogStoreError)]()
        do {
            let view = StoreView(transaction: transaction, environment: environment)
            for pending in group {
                do {
                    try view.validate(pending.batch)
                } catch let error as LogStoreError {
                    rejected.append((pending, error))
                    continue
                }
                try view.apply(pending.batch)
                accepted.append(pending)
            }
        } catch {
            environment.abort(transaction)
            throw error
        }
        // Replaced and removed states go a bounded slice per transaction, while any are left.
        var retiredRemain = false
        if !accepted.isEmpty, retiredStatePending || accepted.contains(where: { $0.batch.retiresState }) {
            do {
                retiredRemain = try StoreView(transaction: transaction, environment: environment)
                    .sweepRetiredState(limit: Self.retiredRowsPerTransaction)
            } catch {
                environment.abort(transaction)
                throw error
            }
        }
        if accepted.isEmpty {
            environment.abort(transaction)
        } else {
            // On failure LMDB has already freed the transaction.
            try environment.commit(transaction)
            retiredStatePending = retiredRemain
            statistics.recordCommit(startedNanoseconds: started)
            condition.lock()
            committedTransactions += 1
            condition.unlock()
        }
        return (accepted, rejected)
    }

    private func syncAndComplete(_ unsynced: inout [PendingWrite]) {
        do {
            try environment.sync()
            statistics.recordSync()
            for pending in unsynced { pending.complete(.success(())) }
        } catch {
            let failure = error as? LMDBFailure ?? LMDBFailure(code: EIO, operation: "mdb_env_sync")
            // After a failed sync the kernel may have dropped the dirty pages: nothing written
            // since the last good sync can be called durable again, so the store stops writing.
            let storeError = LogStoreError.storageFailed(operation: failure.operation, code: failure.code, message: failure.message)
            setFailure(storeError)
            for pending in unsynced { pending.complete(.failure(storeError)) }
        }
        unsynced = []
    }

    /// Fails a group whose transaction failed. Map full and disk full leave the store usable
    /// (LMDB aborted the transaction before publishing anything): the group's streams are
    /// refused until resumed, with their writes queued behind it. Anything else stops writes.
    private func fail(_ group: [PendingWrite], with failure: LMDBFailure) {
        let storeError: LogStoreError
        if failure.isMapFull {
            storeError = .mapFull(mapSizeBytes: environment.mapSizeBytes, mapSizeBytesMax: configuration.mapSizeBytesMax)
        } else if failure.code == MDB_TXN_FULL {
            storeError = .invalidBatch("too many changes for one LMDB transaction; write smaller batches")
        } else {
            storeError = failure.storeError(path: environment.path)
            if !failure.isDiskFull { setFailure(storeError) }
        }
        let heldBack = refuseStreams(of: group, with: storeError)
        for pending in group { pending.complete(.failure(storeError)) }
        for pending in heldBack { pending.complete(.failure(storeError)) }
    }

    /// Marks the group's streams refused and takes their queued writes out of the queue, to be
    /// failed after the group (in submission order).
    private func refuseStreams(of group: [PendingWrite], with error: LogStoreError) -> [PendingWrite] {
        let streams = Set(group.compactMap(\.stream))
        guard !streams.isEmpty else { return [] }
        condition.lock()
        defer { condition.unlock() }
        for stream in streams where refusedStreams[stream] == nil { refusedStreams[stream] = error }
        var kept: [PendingWrite] = []
        var heldBack: [PendingWrite] = []
        for pending in queue[queueHead...] {
            if let stream = pending.stream, streams.contains(stream) {
                heldBack.append(pending)
                queuedBytes -= pending.sizeBytes
            } else {
                kept.append(pending)
            }
        }
        if !heldBack.isEmpty {
            queue = kept
            queueHead = 0
        }
        return heldBack
    }

    private func currentFailure() -> LogStoreError? {
        condition.lock()
        defer { condition.unlock() }
        return failure
    }

    private func setFailure(_ error: LogStoreError) {
        condition.lock()
        failure = failure ?? error
        condition.unlock()
    }
}
