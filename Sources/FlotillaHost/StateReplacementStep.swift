/// Replacing a replica's stored state whole, after a snapshot replaced it in memory (installed
/// from the leader, or restored). A small state goes in one write (`whole`); a larger one over
/// several (`begin`, `rows`..., `finish`), into a generation nothing reads until `finish`
/// switches to it, so that no write grows with the size of a shard and a crash part way
/// leaves the old state (and the snapshot file) to restart from.
public enum StateReplacementStep: Sendable, Equatable {
    case whole([StoredKeyValue])
    case begin
    case rows([StoredKeyValue])
    /// Switches to the rows written since `begin`, which must be `rowCount` keys.
    case finish(rowCount: UInt64)

    var sizeBytes: Int {
        switch self {
        case .whole(let rows), .rows(let rows): return rows.reduce(0) { $0 + $1.sizeBytes }
        case .begin, .finish: return 16
        }
    }
}
