import CLMDB
import FlotillaRaft

/// A replica's key-value state: reading it, and the writer's side of changing it.
extension StoreView {
    /// The generation of the replica's state that reads see (0 until an install switched it).
    func stateGeneration(_ shard: ShardID, _ replica: ReplicaID) throws -> UInt32 {
        try transaction.value(environment.replicas, StoreKey.replica(shard, replica, .stateGeneration)) {
            var reader = ByteReader($0)
            return try reader.readUInt32()
        } ?? 0
    }

    /// The log position the state reflects (zero when nothing was applied).
    func applied(_ shard: ShardID, _ replica: ReplicaID) throws -> LogPosition {
        try transaction.value(environment.replicas, StoreKey.replica(shard, replica, .applied)) {
            try LogPosition(decoding: $0)
        } ?? LogPosition(index: .zero, term: .zero)
    }

    /// How many keys the state holds.
    func stateCount(_ shard: ShardID, _ replica: ReplicaID) throws -> UInt64 {
        try readCount(StoreKey.replica(shard, replica, .stateCount)) ?? 0
    }

    /// The install in progress, if any: its generation and the rows it has so far.
    func installing(_ shard: ShardID, _ replica: ReplicaID) throws -> (generation: UInt32, rowCount: UInt64)? {
        try transaction.value(environment.replicas, StoreKey.replica(shard, replica, .installing)) {
            var reader = ByteReader($0)
            return (try reader.readUInt32(), try reader.readUInt64())
        }
    }

    func stateValue(_ shard: ShardID, _ replica: ReplicaID, position: UInt64, key: [UInt8]) throws -> StateValue? {
        try readStateRow(shard, replica, try stateGeneration(shard, replica), position: position, key: key)
    }

    /// Up to `limit` rows (and about `bytesMax` bytes, at least one row) of `generation` in
    /// `(position, key)` order, strictly after `after` when given.
    func stateRows(_ shard: ShardID, _ replica: ReplicaID, generation: UInt32, after: StateResumePoint?,
                   limit: Int, bytesMax: Int = .max) throws -> [StateRow] {
        let prefix = StoreKey.statePrefix(shard, replica, generation)
        let cursor = try transaction.cursor(environment.state)
        defer { cursor.close() }
        let start = after.map { Self.stateStoredKey(shard, replica, generation, $0.position, $0.key).key } ?? prefix
        var item = try cursor.seek(atOrAfter: start)
        var rows: [StateRow] = []
        var bytes = 0
        /// Whether a row is at or before the resume point (a bucket may hold both kinds).
        func isPassed(_ position: UInt64, _ key: [UInt8]) -> Bool {
            guard let after, position == after.position else { return false }
            return !after.key.lexicographicallyPrecedes(key)
        }
        scanning: while let found = item, rows.count < limit, found.key.starts(with: prefix) {
            guard found.key.count > StoreKey.statePrefixBytes else { throw LogStoreError.corrupt("state key too short") }
            let position = found.key.loadBigEndianUInt64(at: 20)
            var candidates: [(key: [UInt8], value: StateValue)]
            if Self.isStateBucket(found.key) {
                candidates = try Self.decodeStateBucket(found.value)
            } else {
                candidates = [(Array(found.key[StoreKey.statePrefixBytes...]), try StateValue.decode(found.value))]
            }
            for (key, value) in candidates where !isPassed(position, key) {
                guard rows.count < limit else { break scanning }
                bytes += key.count + value.bytes.count
                if !rows.isEmpty && bytes > bytesMax { break scanning }
                rows.append(StateRow(position: position, key: key, value: value))
            }
            item = try cursor.next()
        }
        return rows
    }

    // MARK: - Writing

    /// Checks a state update against the store before anything of the batch is written.
    func validate(_ state: StateUpdate, _ shard: ShardID, _ replica: ReplicaID) throws {
        guard let install = state.install else { return }
        let inProgress = try installing(shard, replica)
        switch install {
        case .begin(let generation), .replace(let generation, _, _):
            // New for this replica: above the generation it reads and any it is installing, and
            // none it retired. (Per replica, not against the host's highest: two writers' steps
            // of different replicas may land in either order.)
            let current = try stateGeneration(shard, replica)
            let retired = try retiredGenerations().contains { $0 == (shard, replica, generation) }
            guard generation > current, generation > inProgress?.generation ?? 0, !retired else {
                throw LogStoreError.invalidBatch("shard \(shard) replica \(replica): an install must use a new state generation, not \(generation)")
            }
        case .rows(let generation, _), .abandon(let generation):
            guard inProgress?.generation == generation else {
                throw LogStoreError.invalidBatch("shard \(shard) replica \(replica): no install of state generation \(generation) in progress")
            }
        case .finish(let generation, _, let rowCount):
            guard let inProgress, inProgress.generation == generation else {
                throw LogStoreError.invalidBatch("shard \(shard) replica \(replica): no install of state generation \(generation) in progress")
            }
            guard inProgress.rowCount == rowCount else {
                throw LogStoreError.invalidBatch("shard \(shard) replica \(replica): the install of state generation \(generation) holds \(inProgress.rowCount) rows, not the \(rowCount) its snapshot has")
            }
        }
    }

    /// Applies the changes to the current generation, keeping the count, then the install step
    /// and the applied position.
    func apply(_ state: StateUpdate, _ shard: ShardID, _ replica: ReplicaID) throws {
        if !state.changes.isEmpty {
            let generation = try stateGeneration(shard, replica)
            var count = try stateCount(shard, replica)
            for change in state.changes {
                switch change {
                case .put(let row):
                    if try writeStateRow(shard, replica, generation, row) { count += 1 }
                case .delete(let position, let key):
                    if try eraseStateRow(shard, replica, generation, position: position, key: key) { count -= 1 }
                }
            }
            try writeCount(StoreKey.replica(shard, replica, .stateCount), count)
        }
        if let install = state.install {
            try apply(install, shard, replica)
        }
        if let applied = state.applied {
            try transaction.put(environment.replicas, StoreKey.replica(shard, replica, .applied), applied.encoded())
        }
    }

    private func apply(_ install: StateInstallStep, _ shard: ShardID, _ replica: ReplicaID) throws {
        let installingKey = StoreKey.replica(shard, replica, .installing)
        switch install {
        case .begin(let generation):
            // An install begun again (a newer snapshot) replaces the unfinished one.
            if let unfinished = try installing(shard, replica) { try retire(shard, replica, generation: unfinished.generation) }
            try recordHighestGeneration(generation)
            try recordInstalling(installingKey, generation: generation, rowCount: 0)
        case .rows(let generation, let rows):
            var rowCount = try installing(shard, replica)?.rowCount ?? 0
            for row in rows {
                if try writeStateRow(shard, replica, generation, row) { rowCount += 1 }
            }
            try recordInstalling(installingKey, generation: generation, rowCount: rowCount)
        case .finish(let generation, let applied, let rowCount):
            try retire(shard, replica, generation: try stateGeneration(shard, replica))
            var encoded = [UInt8]()
            encoded.appendBigEndian(generation)
            try transaction.put(environment.replicas, StoreKey.replica(shard, replica, .stateGeneration), encoded)
            try writeCount(StoreKey.replica(shard, replica, .stateCount), rowCount)
            try transaction.put(environment.replicas, StoreKey.replica(shard, replica, .applied), applied.encoded())
            try transaction.delete(environment.replicas, installingKey)
        case .abandon(let generation):
            try retire(shard, replica, generation: generation)
            try transaction.delete(environment.replicas, installingKey)
        case .replace(let generation, let rows, let applied):
            if let unfinished = try installing(shard, replica) {
                try retire(shard, replica, generation: unfinished.generation)
                try transaction.delete(environment.replicas, installingKey)
            }
            try retire(shard, replica, generation: try stateGeneration(shard, replica))
            try recordHighestGeneration(generation)
            var rowCount: UInt64 = 0
            for row in rows {
                if try writeStateRow(shard, replica, generation, row) { rowCount += 1 }
            }
            var encoded = [UInt8]()
            encoded.appendBigEndian(generation)
            try transaction.put(environment.replicas, StoreKey.replica(shard, replica, .stateGeneration), encoded)
            try writeCount(StoreKey.replica(shard, replica, .stateCount), rowCount)
            try transaction.put(environment.replicas, StoreKey.replica(shard, replica, .applied), applied.encoded())
        }
    }

    /// A replica created afresh reads a generation no retired one of the same replica uses, so
    /// that the sweeper never deletes its rows (a replica removed and added again).
    func startState(_ shard: ShardID, _ replica: ReplicaID) throws {
        guard try transaction.value(environment.replicas, StoreKey.replica(shard, replica, .stateGeneration), { _ in true }) == nil else { return }
        guard try retiredGenerations().contains(where: { $0.0 == shard && $0.1 == replica }) else { return }
        let generation = try highestGeneration() + 1
        try recordHighestGeneration(generation)
        var encoded = [UInt8]()
        encoded.appendBigEndian(generation)
        try transaction.put(environment.replicas, StoreKey.replica(shard, replica, .stateGeneration), encoded)
    }

    /// A generation for a new install: above every generation the replica has or had.
    func nextInstallGeneration(_ shard: ShardID, _ replica: ReplicaID) throws -> UInt32 {
        max(try highestGeneration(), try stateGeneration(shard, replica), try installing(shard, replica)?.generation ?? 0) + 1
    }

    /// The highest generation the host has handed out: generations are never reused, so a
    /// stale step of an old install can never land in a new one.
    private func highestGeneration() throws -> UInt32 {
        try transaction.value(environment.host, StoreKey.highestStateGenerationName) {
            var reader = ByteReader($0)
            return try reader.readUInt32()
        } ?? 0
    }

    private func recordHighestGeneration(_ generation: UInt32) throws {
        guard generation > (try highestGeneration()) else { return }
        var encoded = [UInt8]()
        encoded.appendBigEndian(generation)
        try transaction.put(environment.host, StoreKey.highestStateGenerationName, encoded)
    }

    /// A removed replica's state: every generation it has goes to be deleted.
    func retireState(_ shard: ShardID, _ replica: ReplicaID) throws {
        try retire(shard, replica, generation: try stateGeneration(shard, replica))
        if let inProgress = try installing(shard, replica) {
            try retire(shard, replica, generation: inProgress.generation)
        }
    }

    /// Abandons every install a crash cut short (called when the store opens).
    func abandonInterruptedInstalls() throws -> Int {
        var abandoned: [(ShardID, ReplicaID, UInt32)] = []
        let cursor = try transaction.cursor(environment.replicas)
        defer { cursor.close() }
        var item = try cursor.first()
        while let found = item {
            if found.key.count == StoreKey.replicaKeyBytes, found.key[16] == StoreKey.Kind.installing.rawValue {
                let (shard, replica) = StoreKey.owner(found.key)
                var reader = ByteReader(found.value)
                abandoned.append((shard, replica, try reader.readUInt32()))
            }
            item = try cursor.next()
        }
        for (shard, replica, generation) in abandoned {
            try apply(.abandon(generation: generation), shard, replica)
        }
        return abandoned.count
    }

    /// Deletes up to `limit` rows of retired generations; returns whether any remain. Called by
    /// the writer in its transactions while some do, so that replacing or removing a large
    /// state never makes one transaction (or one pause) as large as the state.
    func sweepRetiredState(limit: Int) throws -> Bool {
        var retired = try retiredGenerations()
        guard !retired.isEmpty else { return false }
        var deleted = 0
        let cursor = try transaction.cursor(environment.state)
        defer { cursor.close() }
        while deleted < limit, let (shard, replica, generation) = retired.first {
            let prefix = StoreKey.statePrefix(shard, replica, generation)
            var item = try cursor.seek(atOrAfter: prefix)
            while deleted < limit, let found = item, found.key.starts(with: prefix) {
                try cursor.deleteCurrent()
                deleted += 1
                item = try cursor.current()
            }
            if let found = item, found.key.starts(with: prefix) { break }
            retired.removeFirst()
        }
        try writeRetired(retired)
        return !retired.isEmpty
    }

    private func retire(_ shard: ShardID, _ replica: ReplicaID, generation: UInt32) throws {
        var retired = try retiredGenerations()
        guard !retired.contains(where: { $0 == (shard, replica, generation) }) else { return }
        retired.append((shard, replica, generation))
        try writeRetired(retired)
    }

    func retiredGenerations() throws -> [(ShardID, ReplicaID, UInt32)] {
        try transaction.value(environment.host, StoreKey.retiredStateName) { raw in
            var reader = ByteReader(raw)
            var retired: [(ShardID, ReplicaID, UInt32)] = []
            while reader.offset < raw.count {
                retired.append((ShardID(try reader.readUInt64()), ReplicaID(try reader.readUInt64()), try reader.readUInt32()))
            }
            return retired
        } ?? []
    }

    private func writeRetired(_ retired: [(ShardID, ReplicaID, UInt32)]) throws {
        guard !retired.isEmpty else {
            try transaction.delete(environment.host, StoreKey.retiredStateName)
            return
        }
        var encoded = [UInt8]()
        for (shard, replica, generation) in retired {
            encoded.appendBigEndian(shard.rawValue)
            encoded.appendBigEndian(replica.rawValue)
            encoded.appendBigEndian(generation)
        }
        try transaction.put(environment.host, StoreKey.retiredStateName, encoded)
    }

    private func recordInstalling(_ key: [UInt8], generation: UInt32, rowCount: UInt64) throws {
        var encoded = [UInt8]()
        encoded.appendBigEndian(generation)
        encoded.appendBigEndian(rowCount)
        try transaction.put(environment.replicas, key, encoded)
    }

    private func readCount(_ key: [UInt8]) throws -> UInt64? {
        try transaction.value(environment.replicas, key) {
            var reader = ByteReader($0)
            return try reader.readUInt64()
        }
    }

    private func writeCount(_ key: [UInt8], _ count: UInt64) throws {
        var encoded = [UInt8]()
        encoded.appendBigEndian(count)
        try transaction.put(environment.replicas, key, encoded)
    }
}
