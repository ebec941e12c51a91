import FlotillaServer
import Synchronization

/// A cluster of pretend hosts for `flotilla bench --direct`: each host's handler answers
/// `ROUTES` from the shared leader table, serves every key from one shared dictionary, and
/// counts the requests it served for a shard it does not lead (a relay, on a real host), which
/// it hints like a real host. `moveLeadersAfter` hands every shard of one host to another
/// once that many requests were served, as a leadership change in the middle of a run.
final class FakeRoutingCluster: Sendable {
    struct State {
        var leaders: [UInt64]
        var ports: [UInt64: Int] = [:]
        var values: [[UInt8]: [UInt8]] = [:]
        var served = 0
        var relayed: [UInt64: Int] = [:]
        var move: (after: Int, from: UInt64, to: UInt64)?
        /// Once that many requests were served, `node` stops: it serves and answers nothing
        /// more (its requests stay unanswered, as on a host that died), and `action` runs
        /// (outside the lock) to close its server.
        var stop: (after: Int, node: UInt64, action: @Sendable () -> Void)?
        var stopped: Set<UInt64> = []
        var servedByNode: [UInt64: Int] = [:]
    }

    let state: Mutex<State>

    init(leaders: [UInt64]) { state = Mutex(State(leaders: leaders)) }

    func handler(node: UInt64) -> Host { Host(node: node, cluster: self) }

    var relayed: Int { state.withLock { $0.relayed.values.reduce(0, +) } }
    var served: Int { state.withLock { $0.served } }

    func moveLeaders(after served: Int, from: UInt64, to: UInt64) { state.withLock { $0.move = (served, from, to) } }

    func stop(_ node: UInt64, after served: Int, _ action: @escaping @Sendable () -> Void) {
        state.withLock { $0.stop = (served, node, action) }
    }

    func served(byNode node: UInt64) -> Int { state.withLock { $0.servedByNode[node] ?? 0 } }

    struct Host: ClientRequestHandler {
        let node: UInt64
        let cluster: FakeRoutingCluster

        func handle(_ request: ClientRequest, completion: @escaping @Sendable (ClientResponse) -> Void) {
            var stopAction: (@Sendable () -> Void)?
            let answer = cluster.state.withLock { state -> ClientResponse? in
                defer {
                    if let stop = state.stop, state.served >= stop.after {
                        state.stopped.insert(stop.node)
                        stopAction = stop.action
                        state.stop = nil
                    }
                }
                if state.stopped.contains(node) { return nil }
                switch request {
                case .routes:
                    let addresses = state.ports.mapValues { HostClientAddresses(line: "127.0.0.1:\($0)") }
                    return .status(RoutesLine(node: node, leaders: state.leaders, addresses: addresses).line)
                case .put(let key, _), .get(let key):
                    return serve(key, request, &state)
                case .ping:
                    return .pong
                default:
                    return .error(.badRequest, "\(request) is not served by this test double")
                }
            }
            stopAction?()
            if let answer { completion(answer) }
        }

        private func serve(_ key: [UInt8], _ request: ClientRequest, _ state: inout State) -> ClientResponse {
            let shard = Int(shardOf(key: key, shardCount: UInt64(state.leaders.count)))
            if state.leaders[shard - 1] != node { state.relayed[node, default: 0] += 1 }
            state.served += 1
            state.servedByNode[node, default: 0] += 1
            if let move = state.move, state.served == move.after {
                state.leaders = state.leaders.map { $0 == move.from ? move.to : $0 }
            }
            switch request {
            case .put(_, let value):
                state.values[key] = value
                return .ok
            default:
                return state.values[key].map(ClientResponse.value) ?? .notFound
            }
        }

        func leaderHint(for request: ClientRequest) -> UInt64? {
            guard case .put(let key, _) = request else {
                guard case .get(let key) = request else { return nil }
                return hint(key)
            }
            return hint(key)
        }

        private func hint(_ key: [UInt8]) -> UInt64? {
            cluster.state.withLock { state in
                let leader = state.leaders[Int(shardOf(key: key, shardCount: UInt64(state.leaders.count))) - 1]
                return leader == node ? nil : leader
            }
        }
    }
}
