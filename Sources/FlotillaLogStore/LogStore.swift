import Foundation
import FlotillaRaft

/// The Raft logs of every replica of one host, in one LMDB environment in the data dir.
///
/// Writes go through `write(_:)` (async) or `writeSynchronously(_:)` (worker threads): batches
/// that arrive together share one LMDB transaction and one fdatasync on the store's own writer
/// thread, and each call returns only when its batch is durable. Reads run synchronously in
/// read-only transactions on the caller's thread, concurrently with the writer. No `await` ever
/// sits inside a transaction. All methods throw `LogStoreError`.
public final class LogStore: @unchecked Sendable {
    /// The on-disk format this build writes and reads.
    public static let formatVersion: UInt32 = 1

    /// The data dir.
    public let directory: String
    /// The host identity stored in the data dir.
    public let identity: HostIdentity

    let environment: Environment
    let writer: Writer
    private let lock: DirectoryLock
    private let configuration: LogStoreConfiguration
    private let closeCondition = NSCondition()
    private var isClosed = false

    /// Opens (creating when missing) the store in `directory`.
    ///
    /// Refuses a directory another process (or another open store) holds, one written by another
    /// format version, and one created for another node id or cluster.
    public init(directory: String, configuration: LogStoreConfiguration) throws {
        guard configuration.nodeID > 0 else { throw LogStoreError.invalidConfiguration("node id must be positive") }
        guard configuration.mapSizeBytesInitial > 0, configuration.mapSizeBytesMax >= configuration.mapSizeBytesInitial else {
            throw LogStoreError.invalidConfiguration("map size limits: initial \(configuration.mapSizeBytesInitial) must be positive and at most the maximum \(configuration.mapSizeBytesMax)")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw LogStoreError.storageFailed(operation: "create \(directory)", code: 0, message: "\(error)")
        }
        self.directory = directory
        self.configuration = configuration
        lock = try DirectoryLock(directory: directory)
        do {
            environment = try Environment(path: directory, configuration: configuration)
            identity = try LogStore.establishIdentity(environment, configuration)
            try LogStore.abandonInterruptedInstalls(environment)
        } catch {
            lock.release()
            throw error
        }
        writer = Writer(environment: environment, configuration: configuration)
        writer.start()
    }

    deinit {
        close()
    }

    /// Writes what is queued, makes it durable, closes LMDB and releases the data dir. Later
    /// calls throw `LogStoreError.closed`. Idempotent.
    public func close() {
        closeCondition.lock()
        defer { closeCondition.unlock() }
        guard !isClosed else { return }
        isClosed = true
        writer.stop()
        environment.close()
        lock.release()
    }

    /// Persists `batch` and returns once it is durable (fdatasync done), sharing the transaction
    /// and the sync with batches written at the same time. Throws `busy` at once when the writer
    /// queue is full. A batch that throws stored nothing, except after `storageFailed`, where the
    /// outcome is unknown and the store refuses every later write.
    public func write(_ batch: WriteBatch) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            write(batch) { result in continuation.resume(with: result.mapError { $0 as any Error }) }
        }
    }

    /// `write(_:)` for a thread that is not in an async context (a Raft step worker): blocks the
    /// thread until the batch is durable. Shares the writer queue with `write(_:)`.
    public func writeSynchronously(_ batch: WriteBatch) throws {
        try batch.validateShape(batchBytesMax: configuration.batchBytesMax)
        if batch.isEmpty { return }
        let waiter = SynchronousWaiter()
        try writer.submit(PendingWrite(batch: batch, completion: .waiter(waiter)))
        try waiter.wait().get()
    }

    /// `write(_:)` without waiting: `completion` runs on the writer thread once the batch is
    /// durable (or refused), or at once when the queue refuses it. Shares the writer queue, and
    /// its order, with the other writes. With a `stream`, a refusal (full disk, map or queue)
    /// also refuses the stream's later writes until `resumeWrites(_:)` (see `WriteStream`).
    public func write(_ batch: WriteBatch, stream: WriteStream? = nil,
                      completion: @escaping @Sendable (Result<Void, LogStoreError>) -> Void) {
        do {
            try batch.validateShape(batchBytesMax: configuration.batchBytesMax)
        } catch let error as LogStoreError {
            completion(.failure(error))
            return
        } catch {
            completion(.failure(.invalidBatch("\(error)")))
            return
        }
        if batch.isEmpty {
            // Stores nothing, but keeps its stream's order: after a refusal it is refused too.
            if let stream, let refusal = writer.refusal(of: stream) {
                completion(.failure(refusal))
            } else {
                completion(.success(()))
            }
            return
        }
        let pending = PendingWrite(batch: batch, stream: stream, completion: .callback(completion))
        do {
            try writer.submit(pending)
        } catch let error as LogStoreError {
            pending.complete(.failure(error))
        } catch {
            pending.complete(.failure(.storageFailed(operation: "submit", code: 0, message: "\(error)")))
        }
    }

    /// Accepts the stream's writes again after a refusal. Call it only once every write the
    /// stream submitted has reported its outcome, then resubmit the refused ones in order.
    public func resumeWrites(_ stream: WriteStream) { writer.resumeStream(stream) }

    /// Whether the stream's writes are being refused (a refusal not yet resumed).
    public func isRefusingWrites(_ stream: WriteStream) -> Bool { writer.refusal(of: stream) != nil }

    /// The current LMDB map size (it grows by doubling up to `mapSizeBytesMax`).
    public var mapSizeBytes: Int { environment.mapSizeBytes }

    /// The size of the LMDB data file. It never shrinks (LMDB reuses freed pages), but with
    /// compaction it stops growing.
    public var fileSizeBytes: Int { environment.fileSizeBytes() }

    /// The end of the last page LMDB has used: what the store occupies. The file is larger by
    /// the space reserved ahead of commits (`DataFileReservation`).
    public var usedBytes: Int { environment.usedBytes() }

    /// Checks (or, for a new data dir, records) format version, node id and cluster id.
    private static func establishIdentity(_ environment: Environment, _ configuration: LogStoreConfiguration) throws -> HostIdentity {
        let transaction = try environment.beginWrite()
        var isOpen = true
        do {
            let view = StoreView(transaction: transaction, environment: environment)
            let storedVersion = try view.hostValue(StoreKey.formatVersionName)
            let storedNode = try view.hostValue(StoreKey.nodeIDName)
            let storedCluster = try view.hostValue(StoreKey.clusterIDName) ?? 0
            if environment.existed || storedVersion != nil {
                guard let storedVersion else {
                    throw LogStoreError.formatVersionMismatch(path: environment.path, found: nil, expected: configuration.formatVersion)
                }
                guard storedVersion == UInt64(configuration.formatVersion) else {
                    throw LogStoreError.formatVersionMismatch(path: environment.path, found: UInt32(truncatingIfNeeded: storedVersion),
                                                              expected: configuration.formatVersion)
                }
                guard let storedNode else { throw LogStoreError.corrupt("data dir has no node id") }
                guard storedNode == configuration.nodeID else {
                    throw LogStoreError.nodeIDMismatch(path: environment.path, stored: storedNode, requested: configuration.nodeID)
                }
                if let requested = configuration.clusterID, storedCluster != 0, requested != storedCluster {
                    throw LogStoreError.clusterIDMismatch(stored: storedCluster, requested: requested)
                }
            } else {
                var version = [UInt8]()
                version.appendBigEndian(configuration.formatVersion)
                try transaction.put(environment.host, StoreKey.formatVersionName, version)
                var node = [UInt8]()
                node.appendBigEndian(configuration.nodeID)
                try transaction.put(environment.host, StoreKey.nodeIDName, node)
            }
            var clusterID = storedCluster
            if let requested = configuration.clusterID, storedCluster == 0, requested != 0 {
                var cluster = [UInt8]()
                cluster.appendBigEndian(requested)
                try transaction.put(environment.host, StoreKey.clusterIDName, cluster)
                clusterID = requested
            }
            let version = UInt32(truncatingIfNeeded: storedVersion ?? UInt64(configuration.formatVersion))
            let nodeID = storedNode ?? configuration.nodeID
            isOpen = false
            try environment.commit(transaction)
            try environment.sync()
            return HostIdentity(nodeID: nodeID, clusterID: clusterID, formatVersion: version)
        } catch {
            // `commit` frees the transaction itself, even when it fails.
            if isOpen { environment.abort(transaction) }
            if let failure = error as? LMDBFailure { throw failure.storeError(path: environment.path) }
            throw error
        }
    }
}

extension LogStore {
    /// Write transactions committed since open: with `batch count` it shows how well group
    /// commit coalesces (each transaction costs one fdatasync).
    public var transactionCount: Int { writer.transactionCount }

    /// Syncs and commit durations of the writer, for the metrics endpoint.
    public var statistics: LogStoreStatistics { writer.statistics }
}
