/// Told of every client request the engine answered, for the metrics. Implementations must be
/// cheap: it runs on the request path (atomics and a pre-built table, no lookup by name).
public protocol RequestRecorder: Sendable {
    func record(_ command: RequestCommand, _ result: RequestResult, nanoseconds: UInt64)
}

/// A request's command, as a metric label; a small closed set, so a recorder can keep one
/// counter per command and result in an array.
public enum RequestCommand: Int, CaseIterable, Sendable {
    case put, get, staleGet, delete, compareAndSet, shard, ping, status
    case addObserver, promote, remove, transfer, snapshot, export
    case increment, set, append, expire, persist, timeToLive, scan, keyCount, shardCount, placement
    case addHost, rebalance, drain, routes

    /// The line protocol's name of the command, lowercased.
    public var label: String {
        switch self {
        case .put: return "put"
        case .get: return "get"
        case .staleGet: return "stale-get"
        case .delete: return "del"
        case .compareAndSet: return "cas"
        case .shard: return "shard"
        case .ping: return "ping"
        case .status: return "status"
        case .addObserver: return "add-observer"
        case .promote: return "promote"
        case .remove: return "remove"
        case .transfer: return "transfer"
        case .snapshot: return "snapshot"
        case .export: return "export"
        case .increment: return "incr"
        case .set: return "set"
        case .append: return "append"
        case .expire: return "expire"
        case .persist: return "persist"
        case .timeToLive: return "ttl"
        case .scan: return "scan"
        case .keyCount: return "dbsize"
        case .shardCount: return "shard-count"
        case .placement: return "placement"
        case .addHost: return "add-host"
        case .rebalance: return "rebalance"
        case .drain: return "drain"
        case .routes: return "routes"
        }
    }
}

/// How a request ended, as a metric label: `ok` for every success, the answer for the two
/// non-error outcomes, and the error code otherwise.
public enum RequestResult: Int, CaseIterable, Sendable {
    case ok, notFound, mismatch
    case badRequest, tooLarge, unknownShard, noLeader, timeout, notCaughtUp, busy, shuttingDown, internalError

    public var label: String {
        switch self {
        case .ok: return "ok"
        case .notFound: return "not_found"
        case .mismatch: return "mismatch"
        case .badRequest: return "bad_request"
        case .tooLarge: return "too_large"
        case .unknownShard: return "unknown_shard"
        case .noLeader: return "no_leader"
        case .timeout: return "timeout"
        case .notCaughtUp: return "not_caught_up"
        case .busy: return "busy"
        case .shuttingDown: return "shutting_down"
        case .internalError: return "internal"
        }
    }

    public init(_ code: ClientErrorCode) {
        switch code {
        case .badRequest: self = .badRequest
        case .tooLarge: self = .tooLarge
        case .unknownShard: self = .unknownShard
        case .noLeader: self = .noLeader
        case .timeout: self = .timeout
        case .notCaughtUp: self = .notCaughtUp
        case .busy: self = .busy
        case .shuttingDown: self = .shuttingDown
        case .internalError: self = .internalError
        }
    }
}

extension ClientRequest {
    /// The request's command as a metric label (Redis commands count as the engine requests
    /// they are carried out as: `MGET` as `get`s, `DEL` as `del`s).
    public var recordedCommand: RequestCommand {
        switch self {
        case .put: return .put
        case .get: return .get
        case .staleGet: return .staleGet
        case .delete, .deleteCounting: return .delete
        case .compareAndSet: return .compareAndSet
        case .shard: return .shard
        case .ping: return .ping
        case .status, .replicaStatus: return .status
        case .addObserver: return .addObserver
        case .promote: return .promote
        case .remove: return .remove
        case .transfer: return .transfer
        case .snapshot: return .snapshot
        case .export: return .export
        case .increment: return .increment
        case .set: return .set
        case .append: return .append
        case .expire: return .expire
        case .persist: return .persist
        case .timeToLive: return .timeToLive
        case .scan: return .scan
        case .keyCount: return .keyCount
        case .shardCount: return .shardCount
        case .placement, .clusterMap: return .placement
        case .routes, .clientAddresses: return .routes
        case .addHost: return .addHost
        case .rebalance: return .rebalance
        case .drain: return .drain
        }
    }
}

extension ClientResponse {
    public var result: RequestResult {
        switch self {
        case .ok, .okIndex, .exported, .value, .shard, .pong, .status, .integer, .stored, .keys: return .ok
        case .notFound: return .notFound
        case .mismatch: return .mismatch
        case .error(let code, _): return RequestResult(code)
        }
    }
}
