import FlotillaServer
import Synchronization

/// A `ClientRequestHandler` over an in-memory dictionary, standing in for the engine. Requests
/// on a gated key wait at that key's `Gate`, so a test can complete requests out of order.
final class DictionaryHandler: ClientRequestHandler {
    let values = Mutex<[[UInt8]: [UInt8]]>([:])
    let gates: [[UInt8]: Gate]

    init(gatedKeys: [String] = []) {
        gates = Dictionary(uniqueKeysWithValues: gatedKeys.map { (Array($0.utf8), Gate()) })
    }

    func gate(_ key: String) -> Gate { gates[Array(key.utf8)]! }

    func handle(_ request: ClientRequest, completion: @escaping @Sendable (ClientResponse) -> Void) {
        Task { completion(await respond(to: request)) }
    }

    func respond(to request: ClientRequest) async -> ClientResponse {
        var gate: Gate?
        switch request {
        case .put(let key, _), .get(let key), .staleGet(let key), .delete(let key), .compareAndSet(let key, _, _):
            gate = gates[key]
        default:
            gate = nil
        }
        await gate?.pass()
        defer { gate?.departed() }
        return carryOut(request)
    }

    func carryOut(_ request: ClientRequest) -> ClientResponse {
        switch request {
        case .put(let key, let value):
            values.withLock { $0[key] = value }
            return .ok
        case .get(let key), .staleGet(let key):
            return values.withLock { $0[key] }.map(ClientResponse.value) ?? .notFound
        case .delete(let key):
            values.withLock { $0[key] = nil }
            return .ok
        case .compareAndSet(let key, let expected, let new):
            return values.withLock { values in
                guard values[key] == expected else { return .mismatch }
                values[key] = new
                return .ok
            }
        case .shard(let key): return .shard(shardOf(key: key, shardCount: 16))
        case .ping: return .pong
        case .status(let shard):
            return shard <= 16 ? .status("shard=\(shard) replica=1 role=leader leader=1") : .error(.unknownShard, "no shard \(shard)")
        case .replicaStatus(let shard, let node):
            return .status("shard=\(shard) replica=\(node) role=follower leader=1")
        case .snapshot(let shard):
            return shard == 2 ? .error(.noLeader, "shard 2 has no leader") : .okIndex(7)
        case .export(let shard, let directory):
            return shard == 2 ? .error(.timeout, "no answer in time") : .exported(index: 7, file: directory + "/shard-\(shard).snapshot")
        case .promote(let shard, _):
            return shard == 2 ? .error(.busy, "slow down") : .error(.notCaughtUp, "behind by 10 entries")
        case .remove(let shard, _):
            return shard == 2 ? .error(.shuttingDown, "stopping") : .ok
        case .transfer(let shard, _):
            return shard == 2 ? .error(.internalError, "a bug") : .ok
        case .addObserver:
            return .ok
        default:
            return .error(.badRequest, "\(request) is not served by this test double")
        }
    }
}
