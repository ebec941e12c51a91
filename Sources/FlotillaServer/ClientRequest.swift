/// One line-protocol request, parsed (SPEC "The line protocol").
public enum ClientRequest: Equatable, Sendable {
    case put(key: [UInt8], value: [UInt8])
    case get(key: [UInt8])
    case staleGet(key: [UInt8])
    case delete(key: [UInt8])
    case compareAndSet(key: [UInt8], expected: [UInt8], new: [UInt8])
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
}

extension ClientRequestHandler {
    /// The answer, awaited (tools and tests).
    public func handle(_ request: ClientRequest) async -> ClientResponse {
        await withCheckedContinuation { continuation in
            handle(request) { continuation.resume(returning: $0) }
        }
    }
}
