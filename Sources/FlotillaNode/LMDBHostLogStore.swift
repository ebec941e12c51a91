import FlotillaHost
import FlotillaLogStore
import FlotillaRaft
import Synchronization

/// The NodeHost's `HostLogStore` on the LMDB log store: every shard's replica of this host in
/// one environment, each `persist` one group-committed write.
///
/// The stored record's role field is written at creation as a hint for operators only: the
/// host derives every replica's role from the membership in its own log and snapshot.
public final class LMDBHostLogStore: HostLogStore {
    public let store: LogStore
    let replica: ReplicaID
    /// The generations of the state replacements under way (see `stateUpdate`).
    private let installGenerations = Mutex<(next: UInt32, byShard: [ShardID: UInt32])>((0, [:]))

    public init(store: LogStore) {
        self.store = store
        replica = ReplicaID(store.identity.nodeID)
    }

    public func persist(_ updates: [ReplicaLogUpdate]) throws {
        do {
            try store.writeSynchronously(try batch(of: updates))
        } catch {
            throw Self.classified(error)
        }
    }

    /// Storage failures and refused batches become `HostStoreFailure` (the host stops); a full
    /// disk or map and a full queue stay as they are (the worker resubmits the write later).
    static func classified(_ error: any Error) -> any Error {
        guard let storeError = error as? LogStoreError else { return error }
        switch storeError {
        case .storageFailed, .corrupt, .invalidBatch, .invalidAppend, .compacted, .batchTooLarge:
            return HostStoreFailure("log store: \(storeError)")
        default:
            return storeError
        }
    }

    /// Queues the write and returns: a step worker goes on with other shards while it is in
    /// flight, and the writer's group commit merges it with whatever else is queued.
    public func persist(_ updates: [ReplicaLogUpdate], completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        write(updates, stream: nil, completion: completion)
    }

    /// Each step worker's writes are one `WriteStream` of the log store: after a refusal, none
    /// of the worker's later writes lands before the refused one is written again.
    public func persist(_ updates: [ReplicaLogUpdate], from worker: StepWorkerID,
                        completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        write(updates, stream: WriteStream(worker.rawValue), completion: completion)
    }

    private func write(_ updates: [ReplicaLogUpdate], stream: WriteStream?,
                       completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        let converted: WriteBatch
        do {
            converted = try batch(of: updates)
        } catch {
            completion(.failure(Self.classified(error)))
            return
        }
        store.write(converted, stream: stream) { result in completion(result.mapError { Self.classified($0) }) }
    }

    public func resumeWrites(from worker: StepWorkerID) { store.resumeWrites(WriteStream(worker.rawValue)) }

    func batch(of updates: [ReplicaLogUpdate]) throws -> WriteBatch {
        var converted: [ReplicaUpdate] = []
        converted.reserveCapacity(updates.count)
        for update in updates {
            var stored = ReplicaUpdate(shard: update.shard, replica: replica, removesReplica: update.delete)
            if let record = update.record {
                let role: ReplicaRole = record.origin == .join ? .observer : .voter
                let origin: FlotillaLogStore.ReplicaOrigin
                switch record.origin {
                case .bootstrap: origin = .bootstrap
                case .join: origin = .join
                case .restore: origin = .restore
                }
                stored.record = StoredReplicaRecord(role: role, origin: origin)
            }
            if let snapshot = update.snapshot {
                stored.snapshot = StoredSnapshotRecord(
                    index: snapshot.metadata.index, term: snapshot.metadata.term,
                    membership: RaftWireFormat.encode(snapshot.metadata.membership), fileName: snapshot.file)
            }
            if let through = update.compactThrough {
                let term = try store.term(shard: update.shard, replica: replica, at: through) ?? .zero
                stored.compaction = LogPosition(index: through, term: term)
            } else if let snapshot = update.snapshot {
                // A snapshot received from the leader: drop what it covers (the whole log when
                // the log disagrees with it).
                stored.compaction = LogPosition(index: snapshot.metadata.index, term: snapshot.metadata.term)
            }
            stored.entries = update.entries.map {
                StoredEntry(index: $0.index, term: $0.term, payload: RaftWireFormat.encode($0.payload))
            }
            if let hardState = update.hardState {
                stored.hardState = StoredHardState(term: hardState.term, vote: hardState.vote, commit: hardState.commit)
            }
            if update.delete { installGenerations.withLock { _ = $0.byShard.removeValue(forKey: update.shard) } }
            if let state = update.state { stored.state = try stateUpdate(state, shard: update.shard) }
            converted.append(stored)
        }
        return WriteBatch(updates: converted)
    }

    /// The store keeps a replica's rows in `ScanOrder`: the position of each key, then the key.
    /// A replacement over several writes goes into a generation this object picks at `begin`
    /// (above any the store has handed out, and any picked before) and remembers until
    /// `finish`; the writes arrive in order, so the store sees the steps in order.
    func stateUpdate(_ state: ReplicaStateWrite, shard: ShardID) throws -> StateUpdate {
        let applied = state.applied.map { LogPosition(index: $0.index, term: $0.term) }
        switch state.replacement {
        case .whole(let rows)?:
            guard let applied else { throw LogStoreError.invalidBatch("shard \(shard): a whole state without its applied position") }
            let generation = try newInstallGeneration(shard)
            return StateUpdate(applied: applied, install: .replace(generation: generation, rows: rows.map(Self.stateRow), applied: applied))
        case .begin?:
            return StateUpdate(install: .begin(generation: try newInstallGeneration(shard)))
        case .rows(let rows)?:
            guard let generation = installGenerations.withLock({ $0.byShard[shard] }) else {
                throw LogStoreError.invalidBatch("shard \(shard): state rows without a replacement begun")
            }
            return StateUpdate(install: .rows(generation: generation, rows.map(Self.stateRow)))
        case .finish(let rowCount)?:
            // The generation stays known until the shard's next replacement: a refused write is
            // converted again when it is resubmitted.
            guard let applied, let generation = installGenerations.withLock({ $0.byShard[shard] }) else {
                throw LogStoreError.invalidBatch("shard \(shard): a state replacement finished without being begun")
            }
            return StateUpdate(applied: applied, install: .finish(generation: generation, applied: applied, rowCount: rowCount))
        case nil:
            let changes = state.changes.map { change -> StateChange in
                switch change {
                case .put(let row): return .put(Self.stateRow(row))
                case .delete(let key): return .delete(position: ScanOrder.position(of: key), key: key)
                }
            }
            return StateUpdate(changes: changes, applied: applied)
        }
    }

    /// A generation no state of this host's replicas has had: above every one the store handed
    /// out and every one picked here since (writes converted but not yet applied).
    private func newInstallGeneration(_ shard: ShardID) throws -> UInt32 {
        let stored = try store.nextStateInstallGeneration(shard: shard, replica: replica)
        return installGenerations.withLock { generations in
            let generation = max(generations.next, stored)
            generations.next = generation + 1
            generations.byShard[shard] = generation
            return generation
        }
    }

    static func stateRow(_ row: StoredKeyValue) -> StateRow {
        StateRow(position: ScanOrder.position(of: row.key), key: row.key,
                 value: StateValue(bytes: row.value, expiryMilliseconds: row.expiryMilliseconds))
    }

    public func stateRows(shard: ShardID, after: [UInt8]?, limit: Int) throws -> [StoredKeyValue] {
        let resume = after.map { StateResumePoint(position: ScanOrder.position(of: $0), key: $0) }
        return try store.stateRows(shard: shard, replica: replica, after: resume, limit: limit).map {
            StoredKeyValue(key: $0.key, value: $0.value.bytes, expiryMilliseconds: $0.value.expiryMilliseconds)
        }
    }

    public func loadReplicas() throws -> [StoredReplica] {
        try store.recoverReplicas().filter { $0.replica == replica && $0.record != nil }.map { recovered in
            var snapshot: StoredSnapshot?
            if let record = recovered.snapshot, let file = record.fileName {
                let membership = try RaftWireFormat.decodeMembership(record.membership)
                snapshot = StoredSnapshot(metadata: SnapshotMetadata(index: record.index, term: record.term, membership: membership), file: file)
            }
            let origin: FlotillaHost.ReplicaOrigin
            switch recovered.record!.origin {
            case .bootstrap: origin = .bootstrap
            case .join: origin = .join
            case .restore: origin = .restore
            }
            let hardState = recovered.hardState.map { HardState(term: $0.term, vote: $0.vote, commit: $0.commit) } ?? HardState()
            let applied = try store.appliedPosition(shard: recovered.shard, replica: replica)
            return StoredReplica(shard: recovered.shard, record: ReplicaRecord(origin: origin), hardState: hardState,
                                 snapshot: snapshot, firstIndex: recovered.bounds.firstIndex, lastIndex: recovered.bounds.lastIndex,
                                 compactedTerm: recovered.bounds.compacted.term,
                                 stateApplied: applied.index > .zero ? AppliedPosition(index: applied.index, term: applied.term) : nil)
        }
    }

    public func entries(shard: ShardID, from: LogIndex, through: LogIndex, bytesMax: Int) throws -> [Entry] {
        try store.entries(shard: shard, replica: replica, from: from, through: through, byteLimit: bytesMax).map {
            Entry(index: $0.index, term: $0.term, payload: try RaftWireFormat.decodePayload($0.payload))
        }
    }

    public func term(shard: ShardID, at index: LogIndex) throws -> Term? {
        try store.term(shard: shard, replica: replica, at: index)
    }
}
