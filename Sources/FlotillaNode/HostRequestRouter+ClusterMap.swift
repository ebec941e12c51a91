import FlotillaHost
import FlotillaPlacement
import FlotillaRaft
import FlotillaServer

/// The cluster map's commands: `ADD-HOST`, `REBALANCE`, `DRAIN`, and the map itself for
/// `PLACEMENT`. Each is carried out by the meta shard's leader, reached like any shard's
/// leader (relayed there), because the map lives in the meta shard and its leader drives the
/// moves.
extension HostRequestRouter {
    /// How long a host may take to answer a relayed `PING` and still count as answering.
    static let pingTimeoutMilliseconds = 1_000

    var clusterMapStore: ClusterMapStore {
        ClusterMapStore(nodeHost: nodeHost, seedMembers: runtime.seedMembers, replicaCount: runtime.placement.replicaCount)
    }

    /// Starts this host's replica mover, which acts whenever this host leads the meta shard:
    /// it carries out the recorded moves, balances leaders when none is pending (unless
    /// `leaderBalance` is off: `--no-leader-balance`), and with `autoRebalance`
    /// (`--auto-rebalance`) plans a rebalance whenever the host list changes.
    public func startReplicaMover(autoRebalance: Bool = false, leaderBalance: Bool = true) {
        let mover = replicaMover.withLock { existing -> ReplicaMover in
            if let existing { return existing }
            let created = ReplicaMover(router: self, autoRebalance: autoRebalance, leaderBalance: leaderBalance)
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
        let gathered = await gatherMemberships(fromLeaders: false)
        if let refusal = gathered.refusal { return .success(refusal) }
        var memberships = gathered.memberships
        if case .success(let status) = await nodeHost.status(MetaShard.id) {
            memberships[MetaShard.id] = ShardMembership(status: status)
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
        let map: ClusterMap
        switch result {
        case .success(let stored): map = stored
        case .failure(let error): return .failure(error)
        }
        // Leaders too (SPEC: REBALANCE "moves replicas and leaders"): once no replica moves
        // are pending, the transfers leader balance wants now count as moves, and the
        // balancer is asked for a pass at once instead of at its next period.
        var leaderTransfers = 0
        let mover = replicaMover.withLock { $0 }
        if map.moves.isEmpty, mover?.leaderBalance != false {
            let eligible = await answeringHosts(of: map)
            memberships[MetaShard.id] = nil
            leaderTransfers = LeaderBalancePlanner.plan(memberships: memberships, eligible: eligible, targetLagEntriesMax: nil,
                                                        limit: Int.max).count
            mover?.balancer.passSoon()
        }
        runtime.events(HostEvent(.notice, draining.map { "draining host \($0): \(map.moves.count) moves pending" }
            ?? "rebalance: \(map.moves.count) replica moves and \(leaderTransfers) leader transfers pending"))
        return .success(.okIndex(UInt64(map.moves.count + leaderTransfers)))
    }

    /// Every data shard's members: from the shards' leaders when `fromLeaders` (their reports
    /// carry each member's lag; nil for a shard whose leader cannot be asked), otherwise from
    /// whichever replica answers `STATUS` first. A shard that cannot be asked at all fails the
    /// whole answer (`refusal`): a plan from part of the shards would not be balanced.
    func gatherMemberships(fromLeaders: Bool) async -> (memberships: [ShardID: ShardMembership], refusal: ClientResponse?) {
        let shardCount = runtime.shardCount
        var memberships: [ShardID: ShardMembership] = [:]
        let batchSize = UInt64(Self.placementStatusesInFlightMax)
        var first: UInt64 = 1
        while first <= shardCount {
            let last = min(shardCount, first + batchSize - 1)
            let answers = await withTaskGroup(of: (UInt64, ShardMembership?, ClientResponse).self) { group in
                for number in first...last {
                    group.addTask {
                        if fromLeaders {
                            let membership = await self.shardMembership(of: ShardID(number))
                            return (number, membership, .ok)
                        }
                        let answer = await self.ask(.status(shard: number))
                        guard case .status(let line) = answer else { return (number, nil, answer) }
                        return (number, ShardMembership(line: StatusLine.fields(line)), answer)
                    }
                }
                var answers: [(UInt64, ShardMembership?, ClientResponse)] = []
                for await answer in group { answers.append(answer) }
                return answers
            }
            for (number, membership, answer) in answers {
                guard let membership else {
                    return ([:], .error(.noLeader, "shard \(number) cannot be asked for its members right now (\(answer)); retry"))
                }
                memberships[ShardID(number)] = membership
            }
            first = last + 1
        }
        return (memberships, nil)
    }

    /// The shard's members as its leader reports them, with each member's lag (nil: the
    /// leader it names does not answer). A replica that knows no leader answers for itself
    /// (`leader` none, no lag), which leader balance leaves alone.
    func shardMembership(of shard: ShardID) async -> ShardMembership? {
        guard case .status(var line) = await ask(.status(shard: shard.rawValue)) else { return nil }
        var fields = StatusLine.fields(line)
        if fields["role"] != "leader", let leader = fields["leader"].flatMap(UInt64.init), leader != 0 {
            guard case .status(let leaderLine) = await ask(.replicaStatus(shard: shard.rawValue, node: leader)) else { return nil }
            line = leaderLine
            fields = StatusLine.fields(line)
        }
        return ShardMembership(line: fields)
    }

    /// The map's active hosts that answer a relayed `PING` now (this host always does): those
    /// that may lead. A host down or cut off is left out, so leader balance never hands a
    /// shard to it, and gets its share back once it answers again.
    func answeringHosts(of map: ClusterMap) async -> Set<ReplicaID> {
        await withTaskGroup(of: ReplicaID?.self) { group in
            for node in map.activeHosts {
                group.addTask {
                    if node == self.nodeID { return node }
                    return await self.answersPing(node) ? node : nil
                }
            }
            var answering: Set<ReplicaID> = []
            for await node in group { if let node { answering.insert(node) } }
            return answering
        }
    }

    /// Whether `node` answers a `PING` relayed to it, within `pingTimeoutMilliseconds`.
    func answersPing(_ node: ReplicaID) async -> Bool {
        let payload = ForwardCodec.encode(.ping, hops: Self.hopsMax)
        return await withCheckedContinuation { continuation in
            runtime.transport.forward(to: node, payload: payload, timeoutMilliseconds: Self.pingTimeoutMilliseconds) { result in
                if case .success(let answer) = result, (try? ForwardCodec.decodeResponse(answer)) == .pong {
                    continuation.resume(returning: true)
                } else {
                    continuation.resume(returning: false)
                }
            }
        }
    }
}
