import FlotillaHost
import FlotillaServer
import Synchronization

/// A `ClientRequestHandler` over one real `KeyValueStateMachine` with a clock the test moves,
/// standing in for the engine (one shard, no replication), so a protocol's commands are
/// checked against the real apply and read rules, expiry included.
final class StateMachineHandler: ClientRequestHandler {
    let state = Mutex(KeyValueStateMachine())
    let clockMilliseconds = Mutex<UInt64>(1_000_000)
    let shardCount: UInt64

    init(shardCount: UInt64 = 4) {
        self.shardCount = shardCount
    }

    func advance(milliseconds: UInt64) {
        clockMilliseconds.withLock { $0 += milliseconds }
    }

    func handle(_ request: ClientRequest, completion: @escaping @Sendable (ClientResponse) -> Void) {
        completion(respond(to: request))
    }

    func respond(to request: ClientRequest) -> ClientResponse {
        let now = clockMilliseconds.withLock { $0 }
        if let command = request.command {
            return ClientResponse(state.withLock { $0.apply(command, at: now) }, answering: request)
        }
        switch request {
        case .scan(let shard, let position, let count):
            // One state machine plays every shard: shard 1 holds the keys, the others none.
            guard shard == 1 else { return .keys([], next: nil) }
            return ClientResponse(state.withLock { $0.answer(.keys(from: position, limit: count), at: now) })
        case .keyCount(let shard):
            return .integer(shard == 1 ? Int64(state.withLock { $0.count }) : 0)
        default:
            break
        }
        if let query = request.query { return ClientResponse(state.withLock { $0.answer(query, at: now) }) }
        switch request {
        case .staleGet(let key): return state.withLock { $0.value(for: key, at: now) }.map(ClientResponse.value) ?? .notFound
        case .shardCount: return .integer(Int64(shardCount))
        case .ping: return .pong
        default: return .error(.badRequest, "\(request) is not served by this test double")
        }
    }
}
