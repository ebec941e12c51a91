import FlotillaRaft

/// How a NodeHost reaches durable storage: one store for every shard of the host. `persist`
/// writes the updates of many shards as one durable batch (one transaction, one sync), which
/// is where a host's write throughput comes from. The LMDB store is the real one; an in-memory
/// store serves the unit tests.
public protocol HostLogStore: AnyObject, Sendable {
    /// Makes every update durable, in order, before returning.
    func persist(_ updates: [ReplicaLogUpdate]) throws
    /// Makes every update durable without blocking the caller; `completion` runs (on any
    /// thread) once they are, or with the error. Writes are durable in the order submitted,
    /// whichever form submitted them.
    func persist(_ updates: [ReplicaLogUpdate], completion: @escaping @Sendable (Result<Void, any Error>) -> Void)
    /// `persist(_:completion:)` for one step worker's ordered writes: once one of them is
    /// refused (a full disk or map, a full queue), the worker's later writes are refused too
    /// until `resumeWrites(from:)`, so that they never become durable with a gap before them.
    func persist(_ updates: [ReplicaLogUpdate], from worker: StepWorkerID,
                 completion: @escaping @Sendable (Result<Void, any Error>) -> Void)
    /// Lets the worker's writes through again; the worker calls it once it has seen the outcome
    /// of every write it submitted, then resubmits the refused ones in order.
    func resumeWrites(from worker: StepWorkerID)
    /// Everything needed to restart every replica this host holds.
    func loadReplicas() throws -> [StoredReplica]
    /// Entries `from...through` of a shard's log, at most `bytesMax` (at least one).
    func entries(shard: ShardID, from: LogIndex, through: LogIndex, bytesMax: Int) throws -> [Entry]
    /// The term of the entry at `index`, nil when absent.
    func term(shard: ShardID, at index: LogIndex) throws -> Term?
    /// Up to `limit` keys of the shard's stored state, in the store's order, strictly after
    /// `after` when given: a restart reads the state back page by page.
    func stateRows(shard: ShardID, after: [UInt8]?, limit: Int) throws -> [StoredKeyValue]
}

extension HostLogStore {
    /// For stores whose writes are quick (in memory): the blocking write, then the callback.
    public func persist(_ updates: [ReplicaLogUpdate], completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        completion(Result { try persist(updates) })
    }

    /// For stores that answer each write before taking the next (in memory): order holds by
    /// itself, and there is nothing to resume.
    public func persist(_ updates: [ReplicaLogUpdate], from worker: StepWorkerID,
                        completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        persist(updates, completion: completion)
    }

    public func resumeWrites(from worker: StepWorkerID) {}
}

/// What one shard's replica asks the store to make durable in one batch.
public struct ReplicaLogUpdate: Sendable {
    public var shard: ShardID
    /// Created with the replica: marks this host as holding the shard.
    public var record: ReplicaRecord?
    public var hardState: HardState?
    /// A snapshot now current for the replica (taken locally or received), with its file.
    public var snapshot: StoredSnapshot?
    /// Entries to append; any stored entry at or after the first one's index is dropped.
    public var entries: [Entry] = []
    /// Drop entries up to and including this index.
    public var compactThrough: LogIndex?
    /// The replica left this host (removed from the shard): forget everything about it.
    public var delete = false
    /// Changes to the replica's key-value state and how far it is applied.
    public var state: ReplicaStateWrite?

    public init(shard: ShardID) { self.shard = shard }

    /// A shard's first boot on a host: the bootstrap log (the initial members as entries
    /// `1...n`, committed), written alike by a booting host and by `flotilla restore`.
    public static func bootstrap(_ shard: ShardID, membership: Membership) -> ReplicaLogUpdate {
        let entries = membership.bootstrapEntries()
        var update = ReplicaLogUpdate(shard: shard)
        update.record = ReplicaRecord(origin: .bootstrap)
        update.entries = entries
        update.hardState = HardState(term: Term(1), vote: .none, commit: entries.last?.index ?? .zero)
        return update
    }

    public var isEmpty: Bool {
        record == nil && hardState == nil && snapshot == nil && entries.isEmpty && compactThrough == nil && !delete && state == nil
    }
}

/// The latest snapshot of a replica: its metadata and the file that holds its data.
public struct StoredSnapshot: Sendable, Equatable {
    public var metadata: SnapshotMetadata
    public var file: String
    public init(metadata: SnapshotMetadata, file: String) {
        self.metadata = metadata
        self.file = file
    }
}

/// How the replica came to this host. The replica's role is never recorded here: it is
/// derived from the membership in its own log and snapshot, so a restart needs no flag.
public enum ReplicaOrigin: UInt8, Sendable, Equatable {
    case bootstrap = 1
    case join = 2
    case restore = 3
}

public struct ReplicaRecord: Sendable, Equatable {
    public var origin: ReplicaOrigin
    public init(origin: ReplicaOrigin) { self.origin = origin }
}

/// A replica as found in the store at start-up.
public struct StoredReplica: Sendable {
    public var shard: ShardID
    public var record: ReplicaRecord
    public var hardState: HardState
    public var snapshot: StoredSnapshot?
    /// The first stored entry's index (`lastIndex + 1` when none) and the last.
    public var firstIndex: LogIndex
    public var lastIndex: LogIndex
    /// The term of the entry just before `firstIndex` (compacted), for log matching.
    public var compactedTerm: Term
    /// How far the stored key-value state is applied (nil: nothing stored). When it is at or
    /// past the snapshot, the replica restarts from the stored state; otherwise (a snapshot
    /// installed or restored whose state was not yet written) from the snapshot's file.
    public var stateApplied: AppliedPosition?

    public init(shard: ShardID, record: ReplicaRecord, hardState: HardState, snapshot: StoredSnapshot?,
                firstIndex: LogIndex, lastIndex: LogIndex, compactedTerm: Term, stateApplied: AppliedPosition? = nil) {
        self.stateApplied = stateApplied
        self.shard = shard
        self.record = record
        self.hardState = hardState
        self.snapshot = snapshot
        self.firstIndex = firstIndex
        self.lastIndex = lastIndex
        self.compactedTerm = compactedTerm
    }
}
