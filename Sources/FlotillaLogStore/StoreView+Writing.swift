import CLMDB
import FlotillaRaft

/// The writer's side: validating and applying batches inside its write transaction.
extension StoreView {
    /// Checks a whole batch against the current state without writing anything, so that a bad
    /// batch fails alone instead of aborting the transaction it shares with other callers.
    func validate(_ batch: WriteBatch) throws {
        if let clusterID = batch.clusterID, let stored = try hostValue(StoreKey.clusterIDName),
           stored != 0, stored != clusterID {
            throw LogStoreError.clusterIDMismatch(stored: stored, requested: clusterID)
        }
        for update in batch.updates {
            if let state = update.state { try validate(state, update.shard, update.replica) }
            guard let first = update.entries.first else { continue }
            var bounds = update.removesReplica ? LogBounds.empty : try self.bounds(update.shard, update.replica)
            if let compaction = update.compaction, compaction.index > bounds.compacted.index {
                let keepsSuffix = try !update.removesReplica && compaction.index <= bounds.lastIndex
                    && term(update.shard, update.replica, at: compaction.index) == compaction.term
                bounds = LogBounds(compacted: compaction, lastIndex: keepsSuffix ? bounds.lastIndex : compaction.index)
            }
            guard first.index > bounds.compacted.index, first.index <= bounds.lastIndex.next else {
                throw LogStoreError.invalidAppend(shard: update.shard, replica: update.replica,
                                                  firstIndex: first.index, bounds: bounds)
            }
        }
    }

    /// Applies a validated batch.
    func apply(_ batch: WriteBatch) throws {
        if let clusterID = batch.clusterID {
            var value = [UInt8]()
            value.appendBigEndian(clusterID)
            try transaction.put(environment.host, StoreKey.clusterIDName, value)
        }
        for update in batch.updates {
            try apply(update)
        }
    }

    private func apply(_ update: ReplicaUpdate) throws {
        let shard = update.shard
        let replica = update.replica
        if update.removesReplica {
            try retireState(shard, replica)
            try deleteEntries(shard, replica, from: .zero, through: LogIndex(.max))
            for kind in StoreKey.Kind.allCases {
                try transaction.delete(environment.replicas, StoreKey.replica(shard, replica, kind))
            }
        }
        if let compaction = update.compaction {
            try compact(shard, replica, through: compaction)
        }
        if !update.entries.isEmpty {
            try append(shard, replica, update.entries)
        }
        if let hardState = update.hardState {
            try transaction.put(environment.replicas, StoreKey.replica(shard, replica, .hardState), hardState.encoded())
        }
        if let snapshot = update.snapshot {
            try transaction.put(environment.replicas, StoreKey.replica(shard, replica, .snapshot), snapshot.encoded())
        }
        if let record = update.record {
            try transaction.put(environment.replicas, StoreKey.replica(shard, replica, .record), record.encoded())
            try startState(shard, replica)
        }
        if let state = update.state {
            try apply(state, shard, replica)
        }
    }

    /// Drops entries through `position.index`, keeping the suffix only when the log agrees with
    /// `position` (Raft's rule for a snapshot: a log that disagrees with it is discarded whole).
    private func compact(_ shard: ShardID, _ replica: ReplicaID, through position: LogPosition) throws {
        let bounds = try self.bounds(shard, replica)
        guard position.index > bounds.compacted.index else { return }
        let keepsSuffix = try position.index <= bounds.lastIndex && term(shard, replica, at: position.index) == position.term
        try deleteEntries(shard, replica, from: .zero, through: keepsSuffix ? position.index : LogIndex(.max))
        try transaction.put(environment.replicas, StoreKey.replica(shard, replica, .compaction), position.encoded())
    }

    /// Appends entries, first dropping whatever is stored at or after the first one's index.
    private func append(_ shard: ShardID, _ replica: ReplicaID, _ entries: [StoredEntry]) throws {
        let start = entries[0].index
        if let last = try lastEntryIndex(shard, replica), last >= start {
            try deleteEntries(shard, replica, from: start, through: LogIndex(.max))
        }
        let cursor = try transaction.cursor(environment.entries)
        defer { cursor.close() }
        var key = StoreKey.entry(shard, replica, start)
        try key.withUnsafeMutableBytes { keyBuffer in
            for entry in entries {
                keyBuffer.storeBytes(of: entry.index.rawValue.bigEndian, toByteOffset: 16, as: UInt64.self)
                try cursor.put(key: UnsafeRawBufferPointer(keyBuffer), valueBytes: 8 + entry.payload.count) { value in
                    value.storeBytes(of: entry.term.rawValue.bigEndian, toByteOffset: 0, as: UInt64.self)
                    entry.payload.withUnsafeBytes { payload in
                        if payload.count > 0 {
                            UnsafeMutableRawBufferPointer(rebasing: value[8...]).copyMemory(from: payload)
                        }
                    }
                }
            }
        }
    }

    /// Deletes the replica's entries in `from...through`: one seek, then one delete per entry
    /// along the cursor (LMDB has no range delete; this touches each leaf page once).
    private func deleteEntries(_ shard: ShardID, _ replica: ReplicaID, from: LogIndex, through: LogIndex) throws {
        let cursor = try transaction.cursor(environment.entries)
        defer { cursor.close() }
        var item = try cursor.seek(atOrAfter: StoreKey.entry(shard, replica, from))
        while let found = item, found.key.count == StoreKey.entryKeyBytes, StoreKey.owner(found.key) == (shard, replica),
              LogIndex(found.key.loadBigEndianUInt64(at: 16)) <= through {
            try cursor.deleteCurrent()
            // After a delete LMDB leaves the cursor on the following item; MDB_GET_CURRENT reads it.
            item = try cursor.current()
        }
    }
}
