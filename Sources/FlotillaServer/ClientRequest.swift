import FlotillaHost

/// One request to the engine: what a line-protocol line parses to, and what a Redis command
/// is carried out as (one or several of these).
public enum ClientRequest: Equatable, Sendable {
    case put(key: [UInt8], value: [UInt8])
    case get(key: [UInt8])
    case staleGet(key: [UInt8])
    case delete(key: [UInt8])
    case compareAndSet(key: [UInt8], expected: [UInt8], new: [UInt8])
    /// Answers `.integer` with the new value.
    case increment(key: [UInt8], delta: Int64)
    /// Redis `SET` with options; answers `.stored`.
    case set(key: [UInt8], value: [UInt8], condition: SetCondition, expiry: ExpiryChange, returnsPrevious: Bool)
    /// A delete that answers `.integer(1)` when the key was there, else `.integer(0)`.
    case deleteCounting(key: [UInt8])
    /// Answers `.integer` with the new length.
    case append(key: [UInt8], suffix: [UInt8])
    /// Gives a present key an expiry (`.after` or `.at`); answers `.integer(1)`, or 0 when absent.
    case expire(key: [UInt8], expiry: ExpiryChange)
    /// Removes a key's expiry; answers `.integer(1)`, or 0 when absent or without one.
    case persist(key: [UInt8])
    /// Linearizable `PTTL`: `.integer` -2 absent, -1 no expiry, else milliseconds left.
    case timeToLive(key: [UInt8])
    /// A linearizable page of about `count` of the shard's keys from `position` on, in
    /// `ScanOrder`: `.keys`.
    case scan(shard: UInt64, position: UInt64, count: Int)
    /// How many keys the shard holds (linearizable): `.integer`.
    case keyCount(shard: UInt64)
    /// The cluster's number of shards: `.integer`.
    case shardCount
    case shard(key: [UInt8])
    case ping
    case status(shard: UInt64)
    /// `STATUS <shard> <node>`: the replica on that host as it sees itself (relayed there), so
    /// that `flotilla status` can show every replica of a shard through one host.
    case replicaStatus(shard: UInt64, node: UInt64)
    case addObserver(shard: UInt64, node: UInt64, address: String)
    case promote(shard: UInt64, node: UInt64)
    case remove(shard: UInt64, node: UInt64)
    case transfer(shard: UInt64, node: UInt64)
    case snapshot(shard: UInt64)
    case export(shard: UInt64, directory: String)
    /// `PLACEMENT`: how many replicas and leaders each host has, gathered from every shard's
    /// `STATUS` by the host asked; answers `.status` with the line.
    case placement
    /// `ADD-HOST <node> <raft-addr>`: the host joins the cluster map's host list (active).
    case addHost(node: UInt64, address: String)
    /// `REBALANCE`: plans moves toward an even spread over the active hosts; answers `.okIndex`
    /// with the moves pending.
    case rebalance
    /// `DRAIN <node>`: marks the host draining and plans moves of every replica off it;
    /// answers `.okIndex` with the moves pending.
    case drain(node: UInt64)
    /// The cluster map as the meta shard holds it (`.value`, or `.notFound` before it was
    /// written): relayed between hosts for `PLACEMENT`; no request line parses to it.
    case clusterMap
    /// `ROUTES`: where each shard's leader is and how clients reach the hosts, so that a
    /// client may send each request straight to the leader's host (`RoutesLine`); answers
    /// `.status` with the line. Answered by the host asked, never relayed.
    case routes
    /// The client addresses of the host that receives it (`.status` with a `RoutesLine`
    /// address list): asked of each peer by a host answering `ROUTES`, since hosts know each
    /// other's raft addresses only; no request line parses to it.
    case clientAddresses
}

/// The error codes of SPEC "Errors".
public enum ClientErrorCode: String, Sendable {
    case badRequest = "BAD_REQUEST"
    case tooLarge = "TOO_LARGE"
    case unknownShard = "UNKNOWN_SHARD"
    case noLeader = "NO_LEADER"
    case timeout = "TIMEOUT"
    case notCaughtUp = "NOT_CAUGHT_UP"
    case busy = "BUSY"
    case shuttingDown = "SHUTTING_DOWN"
    case internalError = "INTERNAL"
}

/// One line-protocol response.
public enum ClientResponse: Equatable, Sendable {
    case ok
    case okIndex(UInt64)
    case exported(index: UInt64, file: String)
    case value([UInt8])
    case notFound
    case mismatch
    case shard(UInt64)
    case pong
    case status(String)
    case integer(Int64)
    /// Whether a `set` stored its value, and the previous value when asked for.
    case stored(Bool, previous: [UInt8]?)
    /// A page of keys, and where the shard's next page starts (nil: no more).
    case keys([[UInt8]], next: UInt64?)
    case error(ClientErrorCode, String)
}

/// What the server calls for each well-formed request.
///
/// The answer comes through a callback rather than an `async` function so that a request
/// costs no `Task`: the server calls `handle` on the connection's event loop, the engine
/// answers from whichever thread finishes the work (often the event loop itself, or a step
/// worker), and the server carries the answer back to the loop in a batch with others.
public protocol ClientRequestHandler: Sendable {
    /// Calls `completion` exactly once, from any thread, possibly before returning.
    func handle(_ request: ClientRequest, completion: @escaping @Sendable (ClientResponse) -> Void)

    /// For a connection that asked for hints (`HINTS ON`): nil when this host leads the shard
    /// of the request's key, or the request has no key or is served here whoever leads
    /// (`STALE-GET`); otherwise the leader this host knows (0: none, or no replica here), for
    /// the `LeaderHint` in front of the answer. Called on the connection's event loop.
    func leaderHint(for request: ClientRequest) -> UInt64?
}

extension ClientRequestHandler {
    /// An engine that does not route (a single server, a test double) never hints.
    public func leaderHint(for request: ClientRequest) -> UInt64? { nil }
}

extension ClientRequestHandler {
    /// The answer, awaited (tools and tests).
    public func handle(_ request: ClientRequest) async -> ClientResponse {
        await withCheckedContinuation { continuation in
            handle(request) { continuation.resume(returning: $0) }
        }
    }
}
