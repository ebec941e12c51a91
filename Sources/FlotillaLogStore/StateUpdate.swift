import FlotillaRaft

/// What a replica's key-value state takes from one write, in the same transaction as the
/// replica's log update: the changes of the entries applied since the last write and the
/// position they were applied through. So a restart resumes at `applied`, with no replay of
/// what is already in the state, and a round still costs one sync.
public struct StateUpdate: Sendable, Equatable {
    /// Applied in order, to the replica's current state.
    public var changes: [StateChange]
    /// The last log entry the state reflects once the changes are made.
    public var applied: LogPosition?
    /// A step of replacing the whole state with a snapshot's (see `StateInstallStep`).
    public var install: StateInstallStep?

    public init(changes: [StateChange] = [], applied: LogPosition? = nil, install: StateInstallStep? = nil) {
        self.changes = changes
        self.applied = applied
        self.install = install
    }

    var sizeBytes: Int {
        var total = 16
        for change in changes { total += change.sizeBytes }
        switch install {
        case .rows(_, let rows), .replace(_, let rows, _):
            for row in rows { total += 24 + row.key.count + row.value.bytes.count }
        default:
            break
        }
        return total
    }
}

/// One change to a replica's state.
public enum StateChange: Sendable, Equatable {
    case put(StateRow)
    case delete(position: UInt64, key: [UInt8])

    var sizeBytes: Int {
        switch self {
        case .put(let row): return 24 + row.key.count + row.value.bytes.count
        case .delete(_, let key): return 16 + key.count
        }
    }
}

/// Replacing a replica's whole state (installing a snapshot) without ever showing a mix:
/// the snapshot's rows go into a fresh, invisible generation over as many writes as they need,
/// then one write switches to it, or abandons it and leaves the old state in place. An
/// install cut short by a crash is abandoned when the store opens. Replaced and abandoned
/// generations are deleted a bounded number of rows per write afterwards, so no single
/// transaction grows with the size of a shard.
public enum StateInstallStep: Sendable, Equatable {
    case begin(generation: UInt32)
    case rows(generation: UInt32, [StateRow])
    /// Switches to the generation if it holds exactly `rowCount` rows; `applied` is then the
    /// state's position.
    case finish(generation: UInt32, applied: LogPosition, rowCount: UInt64)
    case abandon(generation: UInt32)
    /// The whole state in one write: `rows` become the state, in the new `generation`, and
    /// `applied` its position. For states small enough for one transaction; larger ones go
    /// through `begin`, `rows` and `finish`.
    case replace(generation: UInt32, rows: [StateRow], applied: LogPosition)
}
