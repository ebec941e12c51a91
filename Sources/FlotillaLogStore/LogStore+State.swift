import FlotillaRaft

/// A replica's key-value state, kept beside its log (one database, one key range per replica
/// and generation): reads, the start of an install, and consistent views for snapshots.
/// Changes are written with `ReplicaUpdate.state`, in the same transaction as the log.
extension LogStore {
    /// The value of `key` (at `position` in the caller's order) in the replica's state.
    public func stateValue(shard: ShardID, replica: ReplicaID, position: UInt64, key: [UInt8]) throws -> StateValue? {
        try environment.withReadTransaction { try StoreView(transaction: $0, environment: environment).stateValue(shard, replica, position: position, key: key) }
    }

    /// The log position the replica's state reflects: a restart resumes applying after it.
    public func appliedPosition(shard: ShardID, replica: ReplicaID) throws -> LogPosition {
        try environment.withReadTransaction { try StoreView(transaction: $0, environment: environment).applied(shard, replica) }
    }

    /// How many keys the replica's state holds.
    public func stateCount(shard: ShardID, replica: ReplicaID) throws -> UInt64 {
        try environment.withReadTransaction { try StoreView(transaction: $0, environment: environment).stateCount(shard, replica) }
    }

    /// Up to `limit` rows of the replica's state in `(position, key)` order, strictly after
    /// `after` when given: an ordered iteration that resumes anywhere (for `SCAN`).
    public func stateRows(shard: ShardID, replica: ReplicaID, after: StateResumePoint?, limit: Int) throws -> [StateRow] {
        try environment.withReadTransaction { transaction in
            let view = StoreView(transaction: transaction, environment: environment)
            return try view.stateRows(shard, replica, generation: try view.stateGeneration(shard, replica), after: after, limit: limit)
        }
    }

    /// The generation a new install of the replica's state writes into (see
    /// `StateInstallStep`): pass it to `.begin`, `.rows`, then `.finish` or `.abandon`.
    public func nextStateInstallGeneration(shard: ShardID, replica: ReplicaID) throws -> UInt32 {
        try environment.withReadTransaction { try StoreView(transaction: $0, environment: environment).nextInstallGeneration(shard, replica) }
    }

    /// Runs `body` with a consistent view of the replica's state and its applied position, as
    /// of one moment, however long `body` reads and whatever is written meanwhile: a snapshot
    /// that is a view, not a copy. The view pins the pages it reads (LMDB cannot reuse them
    /// until it ends), so a long transfer should bound how long it holds one and start again
    /// from a fresh view.
    public func withStateView<Result>(shard: ShardID, replica: ReplicaID, _ body: (StateView) throws -> Result) throws -> Result {
        try environment.withReadTransaction { transaction in
            let view = StoreView(transaction: transaction, environment: environment)
            return try body(StateView(view: view, shard: shard, replica: replica, generation: try view.stateGeneration(shard, replica),
                                      applied: try view.applied(shard, replica), count: try view.stateCount(shard, replica)))
        }
    }

    /// Replaced and removed states not yet deleted (tests and operators watch them go).
    public func retiredStateGenerationCount() throws -> Int {
        try environment.withReadTransaction { try StoreView(transaction: $0, environment: environment).retiredGenerations().count }
    }

    /// Abandons installs a crash cut short: their rows go to be deleted, the old state stays.
    static func abandonInterruptedInstalls(_ environment: Environment) throws {
        let transaction = try environment.beginWrite()
        do {
            let abandoned = try StoreView(transaction: transaction, environment: environment).abandonInterruptedInstalls()
            if abandoned > 0 {
                try environment.commit(transaction)
                try environment.sync()
            } else {
                environment.abort(transaction)
            }
        } catch {
            environment.abort(transaction)
            throw error
        }
    }
}

/// One replica's state as of one moment (see `LogStore.withStateView`); valid only inside the
/// call that made it.
public struct StateView {
    let view: StoreView
    public let shard: ShardID
    public let replica: ReplicaID
    let generation: UInt32
    /// The log position the state reflects.
    public let applied: LogPosition
    /// How many keys it holds.
    public let count: UInt64

    /// The next rows after `after` (from the start when nil): at most `limit`, and about
    /// `bytesMax` bytes (at least one row).
    public func rows(after: StateResumePoint?, limit: Int, bytesMax: Int = .max) throws -> [StateRow] {
        try view.stateRows(shard, replica, generation: generation, after: after, limit: limit, bytesMax: bytesMax)
    }
}
