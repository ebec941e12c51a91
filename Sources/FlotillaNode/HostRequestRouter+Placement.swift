import FlotillaHost
import FlotillaPlacement
import FlotillaRaft
import FlotillaServer
import Synchronization

extension HostRequestRouter {
    /// How many shards' `STATUS` one `PLACEMENT` asks for at once: enough to hide the relays'
    /// round trips, few enough not to crowd the step workers' queues with 65,536 at once.
    static let placementStatusesInFlightMax = 32

    /// `PLACEMENT`: asks every shard's `STATUS` the way a client would (through this host's
    /// own routing, so a shard held elsewhere is answered by a host that holds it), counts each
    /// shard's members and leader per host, and answers the summary line. Counted from the
    /// shards themselves, not from the placement rule, so that it shows what the cluster has.
    /// Any shard that cannot be asked fails the whole answer with that shard's error: a
    /// partial count would look like an uneven spread.
    ///
    /// The hosts listed, the replica count and the moves pending come from the cluster map
    /// (the meta shard); a cluster without one (restored from snapshots, or from before the
    /// map) lists the members it was created with.
    func gatherPlacement(hops: UInt8, completion: @escaping Completion) {
        route(.clusterMap, hops: hops) { answer in
            var report = PlacementReport(hosts: self.runtime.seedMembers.keys, replicaCount: self.runtime.placement.replicaCount)
            if case .value(let text) = answer, let map = ClusterMap(text: String(decoding: text, as: UTF8.self)) {
                report = PlacementReport(hosts: map.listedHosts, replicaCount: map.replicaCount, movesPending: map.moves.count)
            }
            self.gatherPlacement(report, hops: hops, completion: completion)
        }
    }

    private func gatherPlacement(_ report: PlacementReport, hops: UInt8, completion: @escaping Completion) {
        let shardCount = runtime.shardCount
        let gathering = PlacementGathering(shardCount: shardCount, report: report, completion: completion)
        for _ in 0..<min(Int(shardCount), Self.placementStatusesInFlightMax) {
            askNextStatus(gathering, hops: hops)
        }
    }

    private func askNextStatus(_ gathering: PlacementGathering, hops: UInt8) {
        guard let shard = gathering.nextShard() else { return }
        route(.status(shard: shard.rawValue), hops: hops) { response in
            gathering.record(response, shard: shard)
            self.askNextStatus(gathering, hops: hops)
        }
    }

    /// A `STATUS` answered by a follower that names another leader is asked again of that
    /// leader, straight (no further relay); whatever that answers short of a status line, the
    /// follower's line stands.
    func askLeaderNamed(in response: ClientResponse, shard: ShardID, hops: UInt8, completion: @escaping Completion) {
        guard case .status(let line) = response else { return completion(response) }
        let fields = StatusLine.fields(line)
        guard fields["role"] != "leader", let leader = fields["leader"].flatMap(UInt64.init), leader != 0,
              fields["replica"] != "\(leader)", ReplicaID(leader) != nodeID else {
            return completion(response)
        }
        let payload = ForwardCodec.encode(.status(shard: shard.rawValue), hops: Self.hopsMax)
        runtime.transport.forward(to: ReplicaID(leader), payload: payload, timeoutMilliseconds: readForwardTimeoutMilliseconds) { result in
            if case .success(let answer) = result, let decoded = try? ForwardCodec.decodeResponse(answer), case .status = decoded {
                completion(decoded)
            } else {
                completion(response)
            }
        }
    }
}

/// One `PLACEMENT` in progress: the next shard to ask, the counts so far, the first failure.
/// Answers once, when every shard has answered.
final class PlacementGathering: Sendable {
    private struct State {
        var nextShard: UInt64 = 1
        var answered: UInt64 = 0
        var report: PlacementReport
        var failure: ClientResponse?
    }

    private let shardCount: UInt64
    private let state: Mutex<State>
    private let completion: HostRequestRouter.Completion

    init(shardCount: UInt64, report: PlacementReport, completion: @escaping HostRequestRouter.Completion) {
        self.shardCount = shardCount
        self.state = Mutex(State(report: report))
        self.completion = completion
        if shardCount == 0 { completion(.status(report.line)) }
    }

    /// The next shard to ask, or nil once every shard has been asked (or one failed).
    func nextShard() -> ShardID? {
        state.withLock { state -> ShardID? in
            guard state.failure == nil, state.nextShard <= shardCount else { return nil }
            defer { state.nextShard += 1 }
            return ShardID(state.nextShard)
        }
    }

    func record(_ response: ClientResponse, shard: ShardID) {
        let answer = state.withLock { state -> ClientResponse? in
            state.answered += 1
            switch response {
            case .status(let line):
                let fields = StatusLine.fields(line)
                state.report.count(voters: StatusLine.nodes(fields["voters"]).map { ReplicaID($0) },
                                   observers: StatusLine.nodes(fields["observers"]).map { ReplicaID($0) },
                                   leader: ReplicaID(fields["leader"].flatMap(UInt64.init) ?? 0))
            case .error(let code, let message):
                if state.failure == nil { state.failure = .error(code, "PLACEMENT: shard \(shard): \(message)") }
            default:
                if state.failure == nil { state.failure = .error(.internalError, "PLACEMENT: shard \(shard) answered \(response)") }
            }
            // Answer when every shard asked has answered and nothing more will be asked.
            let asked = state.nextShard - 1
            let finished = state.answered == asked && (state.failure != nil || asked == shardCount)
            guard finished else { return nil }
            return state.failure ?? .status(state.report.line)
        }
        if let answer { completion(answer) }
    }
}
