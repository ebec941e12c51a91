import FlotillaHost
import FlotillaPlacement
import FlotillaRaft
import FlotillaServer

/// The cluster map's commands: `ADD-HOST`, `REBALANCE`, `DRAIN`, and the map itself for
/// `PLACEMENT`. Each is carried out by the meta shard's leader, reached like any shard's
/// leader (relayed there), because the map lives in the meta shard and its leader drives the
/// moves.
extension HostRequestRouter {
    var clusterMapStore: ClusterMapStore {
        ClusterMapStore(nodeHost: nodeHost, seedMembers: runtime.seedMembers, replicaCount: runtime.placement.replicaCount)
    }

    /// Starts this host's replica mover, which acts whenever this host leads the meta shard.
    public func startReplicaMover() {
        let mover = replicaMover.withLock { existing -> ReplicaMover in
            if let existing { return existing }
            let created = ReplicaMover(router: self)
            existing = created
            return created
        }
        mover.start()
    }

    /// A request routed from this host as a client's would be, awaited (the mover and the
    /// planner, never the request path).
    func ask(_ request: ClientRequest) async -> ClientResponse {
        await withCheckedContinuation { continuation in
            route(request, hops: 0) { continuation.resume(returning: $0) }
        }
    }

    func routeClusterMapRequest(_ request: ClientRequest, hops: UInt8, deadline: UInt64?, completion: @escaping Completion) {
        switch request {
        case .clusterMap:
            withLeaderRetry(MetaShard.id, request, hops, deadline, anyReplica: true, { host, done in
                host.query(MetaShard.id, .value(key: MetaShard.mapKey), linearizable: true) { done($0.map(ClientResponse.init)) }
            }, completion)
        case .addHost(let node, let address):
            guard node > 0 else { return completion(.error(.badRequest, "node ids are positive")) }
            withLeaderRetry(MetaShard.id, request, hops, deadline, anyReplica: false, { _, done in
                Task { done(await self.addHost(ReplicaID(node), address: address)) }
            }, completion)
        case .rebalance:
            withLeaderRetry(MetaShard.id, request, hops, deadline, anyReplica: false, { _, done in
                Task { done(await self.planMoves(draining: nil)) }
            }, completion)
        case .drain(let node):
            withLeaderRetry(MetaShard.id, request, hops, deadline, anyReplica: false, { _, done in
                Task { done(await self.planMoves(draining: ReplicaID(node))) }
            }, completion)
        default:
            completion(.error(.internalError, "\(request) is not a cluster map request"))
        }
    }

    /// Adds the host to the map, active (again, when it was draining); its replicas come with
    /// the next `REBALANCE`.
    func addHost(_ node: ReplicaID, address: String) async -> Result<ClientResponse, NodeHostError> {
        var refusal: ClientResponse?
        let result = await clusterMapStore.update { map in
            if map.hosts[node]?.state == .removed {
                refusal = .error(.badRequest, "node \(node) was removed from the cluster; node ids are never reused")
                return false
            }
            let host = ClusterHost(address: address, state: .active)
            guard map.hosts[node] != host else { return false }
            map.hosts[node] = host
            return true
        }
        if let refusal { return .success(refusal) }
        return result.map { _ in
            runtime.events(HostEvent(.notice, "host \(node) at \(address) added to the cluster map"))
            return .ok
        }
    }

    /// `REBALANCE` (and `DRAIN`, which marks the host draining first): asks every shard's
    /// members, plans the moves toward the placement over the active hosts, and records them
    /// (replacing the planned moves not yet started; moves under way go on). Answers the moves
    /// now pending.
    func planMoves(draining: ReplicaID?) async -> Result<ClientResponse, NodeHostError> {
        let shardCount = runtime.shardCount
        var memberships: [ShardID: ShardMembership] = [:]
        if case .success(let status) = await nodeHost.status(MetaShard.id) {
            memberships[MetaShard.id] = ShardMembership(voters: status.membership.voters, observers: status.membership.observers,
                                                        removed: status.membership.removed, leader: status.leader)
        }
        let batchSize = UInt64(Self.placementStatusesInFlightMax)
        var first: UInt64 = 1
        while first <= shardCount {
            let last = min(shardCount, first + batchSize - 1)
            let answers = await withTaskGroup(of: (UInt64, ClientResponse).self) { group in
                for number in first...last {
                    group.addTask { (number, await self.ask(.status(shard: number))) }
                }
                var answers: [(UInt64, ClientResponse)] = []
                for await answer in group { answers.append(answer) }
                return answers
            }
            for (number, answer) in answers {
                guard case .status(let line) = answer else {
                    return .success(.error(.noLeader, "shard \(number) cannot be asked for its members right now (\(answer)); retry"))
                }
                memberships[ShardID(number)] = ShardMembership(line: StatusLine.fields(line))
            }
            first = last + 1
        }
        var refusal: ClientResponse?
        let result = await clusterMapStore.update { map in
            if let draining {
                guard let host = map.hosts[draining] else {
                    refusal = .error(.badRequest, "node \(draining) is not in the cluster map")
                    return false
                }
                map.hosts[draining] = ClusterHost(address: host.address, state: .draining)
            }
            map.moves.removeAll { $0.step == .queued }
            map.moves += RebalancePlanner.plan(map: map, memberships: memberships, shardCount: shardCount,
                                               metaShard: MetaShard.id, metaReplicaCount: MetaShard.replicaCountMax)
            return true
        }
        if let refusal { return .success(refusal) }
        return result.map { map in
            runtime.events(HostEvent(.notice, draining.map { "draining host \($0): \(map.moves.count) moves pending" }
                ?? "rebalance: \(map.moves.count) moves pending"))
            return .okIndex(UInt64(map.moves.count))
        }
    }
}
