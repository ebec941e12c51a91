import FlotillaRaft

/// Every way the store refuses a request. Each case says what happened and what a person can do
/// about it; `description` is the message for a log line or a client error.
public enum LogStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another process (or another open in this process) holds the data dir.
    case directoryInUse(path: String, holderProcessID: Int32?)
    /// The data dir was written by another on-disk format version; `found` is nil when it holds
    /// an LMDB file that is not a Flotilla log store at all.
    case formatVersionMismatch(path: String, found: UInt32?, expected: UInt32)
    /// The data dir belongs to another node id.
    case nodeIDMismatch(path: String, stored: UInt64, requested: UInt64)
    /// The data dir belongs to another cluster.
    case clusterIDMismatch(stored: UInt64, requested: UInt64)
    /// The LMDB map reached its configured maximum; nothing of the refused writes was stored.
    case mapFull(mapSizeBytes: Int, mapSizeBytesMax: Int)
    /// The file system refused to grow the store (ENOSPC, EDQUOT, EFBIG); nothing of the refused
    /// writes was stored and the store stays usable once space is freed.
    case diskFull(path: String, code: Int32)
    /// The writer queue is full: back-pressure, retry after a pause.
    case busy(queuedRequests: Int, queuedBytes: Int)
    /// A single batch is larger than the configured limit.
    case batchTooLarge(sizeBytes: Int, sizeBytesMax: Int)
    /// The batch itself is malformed (a caller bug): nothing of it was stored.
    case invalidBatch(String)
    /// Appending would leave a gap or rewrite compacted entries: nothing of the batch was stored.
    case invalidAppend(shard: ShardID, replica: ReplicaID, firstIndex: LogIndex, bounds: LogBounds)
    /// The requested entries were dropped by compaction.
    case compacted(shard: ShardID, replica: ReplicaID, index: LogIndex, firstIndex: LogIndex)
    /// A stored value could not be decoded.
    case corrupt(String)
    /// An I/O or LMDB failure after which the store cannot promise durability any more: it
    /// refuses every further write and must be closed and opened again.
    case storageFailed(operation: String, code: Int32, message: String)
    /// The configuration cannot work (a zero node id, map limits the wrong way round).
    case invalidConfiguration(String)
    /// The store was closed.
    case closed

    public var description: String {
        switch self {
        case let .directoryInUse(path, holder):
            let who = holder.map { "process \($0)" } ?? "another process"
            return "data dir \(path) is in use by \(who); stop it first or use another data dir"
        case let .formatVersionMismatch(path, found, expected):
            guard let found else {
                return "data dir \(path) holds an LMDB file that is not a Flotilla log store (expected format \(expected))"
            }
            return "data dir \(path) was written by on-disk format version \(found); this build reads version \(expected)"
        case let .nodeIDMismatch(path, stored, requested):
            return "data dir \(path) belongs to node id \(stored), not \(requested); start it with --node-id \(stored) or use another data dir"
        case let .clusterIDMismatch(stored, requested):
            return "data dir belongs to cluster \(stored), not \(requested)"
        case let .mapFull(size, maximum):
            return "log store is full: LMDB map of \(size) bytes reached its maximum of \(maximum) bytes; compact the logs or raise the maximum"
        case let .diskFull(path, code):
            return "disk full writing the log store in \(path): \(String(cString: strerror(code)))"
        case let .busy(requests, bytes):
            return "log store writer is busy: \(requests) batches (\(bytes) bytes) already queued"
        case let .batchTooLarge(size, maximum):
            return "write batch of \(size) bytes exceeds the limit of \(maximum) bytes"
        case let .invalidBatch(reason):
            return "invalid write batch: \(reason)"
        case let .invalidAppend(shard, replica, firstIndex, bounds):
            return "shard \(shard) replica \(replica): cannot append at index \(firstIndex), the log holds \(bounds.firstIndex)...\(bounds.lastIndex) (compacted through \(bounds.compacted.index))"
        case let .compacted(shard, replica, index, firstIndex):
            return "shard \(shard) replica \(replica): entry \(index) was compacted; the log starts at \(firstIndex)"
        case let .corrupt(reason):
            return "log store is corrupt: \(reason)"
        case let .storageFailed(operation, code, message):
            return "log store failed in \(operation) (\(code): \(message)); it refuses writes until reopened"
        case let .invalidConfiguration(reason):
            return "invalid log store configuration: \(reason)"
        case .closed:
            return "log store is closed"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
