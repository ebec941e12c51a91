import FlotillaHost
import FlotillaRaft
import FlotillaServer
import Synchronization

/// Routing advice for clients that want to skip the relay: `ROUTES` (where each shard's leader
/// is, and how to reach each host), and the opt-in leader hint on answers (`HINTS ON`). Relays
/// stay what makes any host answer any key (SPEC); this only lets a client save their cost.
extension HostRequestRouter {
    /// Where clients reach this host, told by whoever bound its client ports (`serve`): hosts
    /// know each other's raft addresses only, so each host says its own when asked.
    public func advertise(_ addresses: HostClientAddresses) {
        advertisedAddresses.withLock { $0 = addresses }
    }

    /// This host's client addresses as peers and clients can use them: an unspecified
    /// listening host (`0.0.0.0`) is replaced by the host of the raft address.
    var reachableAddresses: HostClientAddresses {
        let host = HostClientAddresses.split(runtime.options.raftAddress)?.host ?? ""
        return advertisedAddresses.withLock { $0 }.reachable(atHost: host)
    }

    func answerRoutingRequest(_ request: ClientRequest, completion: @escaping Completion) {
        switch request {
        case .clientAddresses: completion(.status(reachableAddresses.text))
        default: gatherRoutes(completion: completion)
        }
    }

    /// `ROUTES`: the leader of every shard this host holds, read under one lock, and the
    /// client addresses of this host and of each leader it names, asked of those hosts at once
    /// (a host that does not answer within the relayed read timeout is left out). Cheap with
    /// many shards: one pass over the shard table, and one relay per other leading host.
    func gatherRoutes(completion: @escaping Completion) {
        let shardCount = runtime.shardCount
        var leaders = [UInt64](repeating: 0, count: Int(shardCount))
        var ledShard: [ReplicaID: ShardID] = [:]
        for entry in nodeHost.rolesAndLeaders where entry.shard.rawValue >= 1 && entry.shard.rawValue <= shardCount {
            guard entry.role != .removed, entry.leader != .none else { continue }
            leaders[Int(entry.shard.rawValue - 1)] = entry.leader.rawValue
            if ledShard[entry.leader] == nil { ledShard[entry.leader] = entry.shard }
        }
        let own = nodeID
        let peers = ledShard.keys.filter { $0 != own }.sorted()
        let gathering = RoutesGathering(node: own.rawValue, leaders: leaders, own: reachableAddresses, peersAsked: peers.count,
                                        completion: completion)
        let payload = ForwardCodec.encode(.clientAddresses, hops: Self.hopsMax)
        for peer in peers {
            // The host part of the peer's raft address stands in for an unspecified listening host.
            let raftAddress = runtime.seedMembers[peer] ?? ledShard[peer].flatMap { nodeHost.members(of: $0)[peer] } ?? ""
            let peerHost = HostClientAddresses.split(raftAddress)?.host ?? ""
            runtime.transport.forward(to: peer, payload: payload, timeoutMilliseconds: readForwardTimeoutMilliseconds) { result in
                var addresses: HostClientAddresses?
                if case .success(let answer) = result, case .status(let text)? = try? ForwardCodec.decodeResponse(answer) {
                    addresses = HostClientAddresses(text: text)?.reachable(atHost: peerHost)
                }
                gathering.record(addresses, of: peer)
            }
        }
    }

    public func leaderHint(for request: ClientRequest) -> UInt64? {
        let key: [UInt8]
        switch request {
        case .put(let routed, _), .get(let routed), .delete(let routed), .compareAndSet(let routed, _, _), .increment(let routed, _),
             .set(let routed, _, _, _, _), .deleteCounting(let routed), .append(let routed, _), .expire(let routed, _),
             .persist(let routed), .timeToLive(let routed):
            key = routed
        default:
            return nil
        }
        let shardCount = runtime.shardCount
        guard shardCount > 0 else { return 0 }
        guard let (role, leader) = nodeHost.roleAndLeader(in: ShardID(shardOf(key: key, shardCount: shardCount))), role != .removed else {
            return 0
        }
        return role == .leader ? nil : leader.rawValue
    }
}

/// One `ROUTES` answer being put together: the leaders read at once, then each peer's client
/// addresses as they come. Answers once, when every peer asked has answered or given up.
final class RoutesGathering: Sendable {
    private struct State {
        var remaining: Int
        var routes: RoutesLine
    }

    private let state: Mutex<State>
    private let completion: HostRequestRouter.Completion

    init(node: UInt64, leaders: [UInt64], own: HostClientAddresses, peersAsked: Int,
         completion: @escaping HostRequestRouter.Completion) {
        let routes = RoutesLine(node: node, leaders: leaders, addresses: own == HostClientAddresses() ? [:] : [node: own])
        state = Mutex(State(remaining: peersAsked, routes: routes))
        self.completion = completion
        if peersAsked == 0 { completion(.status(routes.line)) }
    }

    func record(_ addresses: HostClientAddresses?, of peer: ReplicaID) {
        let finished = state.withLock { state -> RoutesLine? in
            if let addresses, addresses != HostClientAddresses() { state.routes.addresses[peer.rawValue] = addresses }
            state.remaining -= 1
            return state.remaining == 0 ? state.routes : nil
        }
        if let finished { completion(.status(finished.line)) }
    }
}
