import Dispatch
import FlotillaHost
import FlotillaPlacement
import FlotillaRaft
import FlotillaServer
import FlotillaTransport
import NIOCore
import Synchronization

/// Answers line-protocol requests on one host. Any host answers any key: a request that
/// needs the shard's leader is carried out here when this host leads, and otherwise relayed
/// (over the raft transport) to the leader this host knows, or, when it holds no replica of
/// the shard, to the hosts placement put the shard on (the preferred leader first), then to
/// the other members. A request is relayed at most three times, so relays never loop: in the
/// common case a relay from a host without the shard reaches a holder in one hop, and the
/// leader in at most two. The third is for a cluster whose replicas have moved: the first host
/// tried may be one the shard removed, which relays to the members it last knew, whose
/// follower then relays to the leader.
///
/// Everything is callback-driven: a request is routed on the thread that read it (a client
/// connection's event loop, or a peer connection's for a relayed request), handed to the
/// shard's step worker or to the peer link of the same loop, and answered from wherever the
/// work finished. No request creates a `Task`.
///
/// What an error promises: `NO_LEADER`, `UNKNOWN_SHARD`, `BUSY` and `SHUTTING_DOWN` are only
/// answered for requests that never reached a log. A write whose fate is unknown (its
/// proposal is in a log, or it was relayed and the answer never came) is answered `TIMEOUT`.
/// A read changes nothing, so a relayed read that gets no answer is tried again, on whoever
/// leads by then, until about an election has passed.
public final class HostRequestRouter: ClientRequestHandler, ForwardRequestHandler {
    public typealias Completion = @Sendable (ClientResponse) -> Void
    typealias Operation = @Sendable (NodeHost, @escaping @Sendable (Result<ClientResponse, NodeHostError>) -> Void) -> Void

    let runtime: HostRuntime
    let stopping = Atomic<Bool>(false)
    /// Counts and times every client request (not the relayed ones: those are counted on the
    /// host the client spoke to).
    let recorder: (any RequestRecorder)?
    /// How long a request waits out an election before answering `NO_LEADER`, and how long a
    /// relayed read is retried.
    let electionWaitMilliseconds: Int
    /// How long one relayed read waits for its answer before it is tried again.
    let readForwardTimeoutMilliseconds: Int
    /// The cluster map's mover, once started (`startReplicaMover`).
    let replicaMover = Mutex<ReplicaMover?>(nil)
    /// Where the mover kills this host on purpose, for the crash-safety tests (nil: nowhere).
    let faultPoint: FaultPoint?
    /// Where clients reach this host (`advertise`), for `ROUTES`.
    let advertisedAddresses = Mutex(HostClientAddresses())
    static let hopsMax: UInt8 = 3
    static let retryPauseMilliseconds: Int64 = 20

    public init(runtime: HostRuntime, electionWaitMilliseconds: Int = 3_000, readForwardTimeoutMilliseconds: Int = 1_500,
                recorder: (any RequestRecorder)? = nil, faultPoint: FaultPoint? = nil) {
        self.runtime = runtime
        self.faultPoint = faultPoint
        self.recorder = recorder
        self.electionWaitMilliseconds = electionWaitMilliseconds
        self.readForwardTimeoutMilliseconds = readForwardTimeoutMilliseconds
        runtime.transport.setForwardHandler(self)
    }

    public func handleForward(_ payload: [UInt8], completion: @escaping @Sendable ([UInt8]) -> Void) {
        guard let (request, hops) = try? ForwardCodec.decodeRequest(payload) else {
            completion(ForwardCodec.encode(.error(.badRequest, "malformed forwarded request")))
            return
        }
        route(request, hops: hops) { completion(ForwardCodec.encode($0)) }
    }

    /// From now on every request is answered `SHUTTING_DOWN`.
    public func beginShutdown() {
        stopping.store(true, ordering: .releasing)
        replicaMover.withLock { $0?.stop() }
    }

    var nodeHost: NodeHost { runtime.nodeHost }
    var nodeID: ReplicaID { runtime.options.nodeID }

    public func handle(_ request: ClientRequest, completion: @escaping Completion) {
        guard let recorder else { return route(request, hops: 0, completion: completion) }
        let command = request.recordedCommand
        let started = DispatchTime.now().uptimeNanoseconds
        route(request, hops: 0) { response in
            recorder.record(command, response.result, nanoseconds: DispatchTime.now().uptimeNanoseconds &- started)
            completion(response)
        }
    }

    static func nowMilliseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }

    /// `deadline` is set once a request has had to wait (an election, a lost relay); the
    /// first attempt runs without reading the clock.
    func route(_ request: ClientRequest, hops: UInt8, deadline: UInt64? = nil, completion: @escaping Completion) {
        if stopping.load(ordering: .acquiring) {
            completion(.error(.shuttingDown, "the host is stopping; retry on another host"))
            return
        }
        let shardCount = runtime.shardCount
        if shardCount == 0 {
            if case .staleGet = request {
                completion(.error(.unknownShard, "this host holds no replica yet (it has not joined its cluster)"))
            } else if request == .ping {
                completion(.pong)
            } else if request == .routes || request == .clientAddresses {
                answerRoutingRequest(request, completion: completion)
            } else {
                // A joining host that has not heard from its cluster yet cannot map keys to
                // shards: a member of the cluster answers instead.
                relayToMember(request, hops: hops, completion: completion)
            }
            return
        }
        switch request {
        case .ping:
            completion(.pong)
        case .shard(let key):
            completion(.shard(shardOf(key: key, shardCount: shardCount)))
        case .put(let key, _), .delete(let key), .compareAndSet(let key, _, _), .increment(let key, _), .set(let key, _, _, _, _),
             .deleteCounting(let key), .append(let key, _), .expire(let key, _), .persist(let key):
            write(key, request, hops, deadline, completion)
        case .get(let key), .timeToLive(let key):
            query(ShardID(shardOf(key: key, shardCount: shardCount)), request, hops, deadline, completion)
        case .scan(let number, _, _), .keyCount(let number):
            guard let shard = validShard(number, shardCount) else { return completion(unknownShard(number, shardCount)) }
            query(shard, request, hops, deadline, completion)
        case .shardCount:
            completion(.integer(Int64(shardCount)))
        case .staleGet(let key):
            let shard = ShardID(shardOf(key: key, shardCount: shardCount))
            nodeHost.read(shard, key: key, linearizable: false) { result in
                switch result {
                case .success(let value): completion(value.map(ClientResponse.value) ?? .notFound)
                case .failure(let error): completion(Self.response(for: error, shard: shard))
                }
            }
        case .status(let number):
            guard let shard = validShard(number, shardCount) else { return completion(unknownShard(number, shardCount)) }
            if let role = nodeHost.roleAndLeader(in: shard)?.role, role != .removed {
                nodeHost.status(shard) { result in
                    switch result {
                    case .success(let status): completion(.status(status.line))
                    case .failure(let error): completion(Self.response(for: error, shard: shard))
                    }
                }
                return
            }
            // No replica here: a host holding one answers, and the leader it names describes
            // the shard when it can (SPEC: forwarded to the leader).
            relay(request, shard: shard, to: nil, hops: hops, deadline: deadline) { response in
                self.askLeaderNamed(in: response, shard: shard, hops: hops, completion: completion)
            }
        case .placement:
            gatherPlacement(hops: hops, completion: completion)
        case .addHost, .rebalance, .drain, .clusterMap:
            routeClusterMapRequest(request, hops: hops, deadline: deadline, completion: completion)
        case .routes, .clientAddresses:
            answerRoutingRequest(request, completion: completion)
        case .replicaStatus(let number, let node):
            guard let shard = validShard(number, shardCount) else { return completion(unknownShard(number, shardCount)) }
            guard ReplicaID(node) != nodeID else { return route(.status(shard: number), hops: hops, completion: completion) }
            guard hops < Self.hopsMax else {
                return completion(.error(.noLeader, "node \(node) is not reachable from here"))
            }
            // Straight to that host, which answers for its own replica (or says it has none).
            forward(ForwardCodec.encode(.status(shard: number), hops: Self.hopsMax), to: [ReplicaID(node)], request: request,
                    hops: hops, deadline: deadline,
                    unreachable: .error(.noLeader, "node \(node) is not reachable from here"), completion: completion)
        case .addObserver(let number, let node, let address):
            guard let shard = validShard(number, shardCount) else { return completion(unknownShard(number, shardCount)) }
            guard node > 0 else { return completion(.error(.badRequest, "node ids are positive")) }
            admin(shard, request, hops, deadline, { host, done in
                host.addObserver(shard, node: ReplicaID(node), address: address) { done($0.map { .ok }) }
            }, completion)
        case .promote(let number, let node):
            guard let shard = validShard(number, shardCount) else { return completion(unknownShard(number, shardCount)) }
            admin(shard, request, hops, deadline, { host, done in
                host.promote(shard, node: ReplicaID(node)) { done($0.map { .ok }) }
            }, completion)
        case .remove(let number, let node):
            guard let shard = validShard(number, shardCount) else { return completion(unknownShard(number, shardCount)) }
            admin(shard, request, hops, deadline, { host, done in
                host.remove(shard, node: ReplicaID(node)) { done($0.map { .ok }) }
            }, completion)
        case .transfer(let number, let node):
            guard let shard = validShard(number, shardCount) else { return completion(unknownShard(number, shardCount)) }
            admin(shard, request, hops, deadline, { host, done in
                host.transfer(shard, to: ReplicaID(node)) { done($0.map { .ok }) }
            }, completion)
        case .snapshot(let number):
            guard let shard = validShard(number, shardCount) else { return completion(unknownShard(number, shardCount)) }
            admin(shard, request, hops, deadline, { host, done in
                host.snapshot(shard) { done($0.map { .okIndex($0.rawValue) }) }
            }, completion)
        case .export(let number, let directory):
            guard let shard = validShard(number, shardCount) else { return completion(unknownShard(number, shardCount)) }
            nodeHost.export(shard, directory: directory) { result in
                switch result {
                case .success(let exported): completion(.exported(index: exported.index.rawValue, file: exported.file))
                case .failure(.unknownShard):
                    completion(.error(.unknownShard, "shard \(shard) has no replica on this host; export it on a host that holds one"))
                case .failure(let error): completion(Self.response(for: error, shard: shard))
                }
            }
        }
    }

    func validShard(_ number: UInt64, _ shardCount: UInt64) -> ShardID? {
        number >= 1 && number <= shardCount ? ShardID(number) : nil
    }

    func unknownShard(_ number: UInt64, _ shardCount: UInt64) -> ClientResponse {
        .error(.unknownShard, "shard \(number) is out of range 1...\(shardCount)")
    }

    func write(_ key: [UInt8], _ request: ClientRequest, _ hops: UInt8, _ deadline: UInt64?, _ completion: @escaping Completion) {
        guard let command = request.command else { return completion(.error(.internalError, "\(request) is not a write")) }
        let shard = ShardID(shardOf(key: key, shardCount: runtime.shardCount))
        withLeaderRetry(shard, request, hops, deadline, anyReplica: false, { host, done in
            host.propose(shard, command) { result in done(result.map { ClientResponse($0, answering: request) }) }
        }, completion)
    }

    /// A linearizable read of the shard's state, on any replica that knows a leader.
    func query(_ shard: ShardID, _ request: ClientRequest, _ hops: UInt8, _ deadline: UInt64?, _ completion: @escaping Completion) {
        guard let query = request.query else { return completion(.error(.internalError, "\(request) is not a read")) }
        withLeaderRetry(shard, request, hops, deadline, anyReplica: true, { host, done in
            host.query(shard, query, linearizable: true) { result in done(result.map(ClientResponse.init)) }
        }, completion)
    }

    func admin(_ shard: ShardID, _ request: ClientRequest, _ hops: UInt8, _ deadline: UInt64?,
               _ operation: @escaping Operation, _ completion: @escaping Completion) {
        withLeaderRetry(shard, request, hops, deadline, anyReplica: false, operation, completion)
    }

    /// Runs `operation` here when this host can (a leader, or any replica for reads), relays it
    /// to the leader otherwise, and rides out a short election.
    func withLeaderRetry(_ shard: ShardID, _ request: ClientRequest, _ hops: UInt8, _ deadline: UInt64?, anyReplica: Bool,
                         _ operation: @escaping Operation, _ completion: @escaping Completion) {
        guard let (role, leader) = nodeHost.roleAndLeader(in: shard), role != .removed else {
            relay(request, shard: shard, to: nil, hops: hops, deadline: deadline, completion: completion)
            return
        }
        if role == .leader || (anyReplica && leader != .none) {
            operation(nodeHost) { result in
                switch result {
                case .success(let response):
                    completion(response)
                case .failure(.notLeader(let hint)) where hint != .none && hint != self.nodeID:
                    self.relay(request, shard: shard, to: hint, hops: hops, deadline: deadline, completion: completion)
                case .failure(.noLeader), .failure(.notLeader):
                    // Never reached a log (or another leader's entry took its slot): safe to retry.
                    self.retryLater(request, shard: shard, hops: hops, deadline: deadline, completion: completion)
                case .failure(let error):
                    completion(Self.response(for: error, shard: shard))
                }
            }
        } else if leader != .none && leader != nodeID {
            relay(request, shard: shard, to: leader, hops: hops, deadline: deadline, completion: completion)
        } else {
            retryLater(request, shard: shard, hops: hops, deadline: deadline, completion: completion)
        }
    }

    /// Routes the request again after a short pause, or answers `NO_LEADER` once the wait for
    /// an election is over.
    func retryLater(_ request: ClientRequest, shard: ShardID, hops: UInt8, deadline: UInt64?, completion: @escaping Completion) {
        if !routeAgainLater(request, hops: hops, deadline: deadline, completion: completion) {
            completion(.error(.noLeader, "shard \(shard) has no leader right now; retry"))
        }
    }

    /// Schedules the request to be routed again after a short pause, unless the election wait
    /// (counted from the first retry) is over; returns whether it did.
    func routeAgainLater(_ request: ClientRequest, hops: UInt8, deadline: UInt64?, completion: @escaping Completion) -> Bool {
        let now = Self.nowMilliseconds()
        let deadline = deadline ?? now + UInt64(electionWaitMilliseconds)
        guard now < deadline else { return false }
        runtime.transport.group.next().scheduleTask(in: .milliseconds(Self.retryPauseMilliseconds)) {
            self.route(request, hops: hops, deadline: deadline, completion: completion)
        }
        return true
    }

    /// Relays to `node`, or when nil to a member of the shard (or of the cluster) that is not us.
    func relay(_ request: ClientRequest, shard: ShardID, to node: ReplicaID?, hops: UInt8, deadline: UInt64?,
               completion: @escaping Completion) {
        guard hops < Self.hopsMax else {
            completion(.error(.noLeader, "shard \(shard) has no reachable leader from here; retry"))
            return
        }
        var candidates: [ReplicaID] = []
        if let node { candidates.append(node) }
        // The shard's members as this host knows them, then the hosts placement put it on
        // (its preferred leader first), then every other seed member, highest rendezvous
        // weight first.
        let placement = runtime.placement
        let known = nodeHost.members(of: shard).keys.sorted() + placement.voters(of: shard) + placement.ranking(of: shard)
            + runtime.seedMembers.keys.sorted()
        for member in known where member != nodeID && !candidates.contains(member) { candidates.append(member) }
        guard !candidates.isEmpty else {
            completion(.error(.unknownShard, "shard \(shard) is not hosted here and no other host is known"))
            return
        }
        runtime.transport.counters.relayedRequests.wrappingAdd(1, ordering: .relaxed)
        let payload = ForwardCodec.encode(request, hops: hops + 1)
        forward(payload, to: candidates.prefix(3), request: request, hops: hops, deadline: deadline,
                unreachable: .error(.noLeader, "no host that can serve shard \(shard) is reachable; retry"), completion: completion)
    }

    /// Tries each candidate in turn while the request provably never left this host.
    func forward(_ payload: [UInt8], to candidates: ArraySlice<ReplicaID>, request: ClientRequest, hops: UInt8,
                 deadline: UInt64?, unreachable: ClientResponse, completion: @escaping Completion) {
        guard let candidate = candidates.first else {
            completion(unreachable)
            return
        }
        let isRead = request.isRead
        runtime.transport.forward(to: candidate, payload: payload, timeoutMilliseconds: isRead ? readForwardTimeoutMilliseconds : nil) { result in
            switch result {
            case .success(let answer):
                guard let response = try? ForwardCodec.decodeResponse(answer) else {
                    completion(.error(.internalError, "node \(candidate) sent a malformed answer"))
                    return
                }
                if isRead, case .error(let code, _) = response, code == .noLeader || code == .timeout,
                   self.routeAgainLater(request, hops: hops, deadline: deadline, completion: completion) {
                    return
                }
                completion(response)
            case .failure(TCPTransportError.notSent), .failure(TCPTransportError.unknownPeer):
                // The request never left: safe to try the next host.
                self.forward(payload, to: candidates.dropFirst(), request: request, hops: hops,
                             deadline: deadline, unreachable: unreachable, completion: completion)
            case .failure:
                if isRead, self.routeAgainLater(request, hops: hops, deadline: deadline, completion: completion) {
                    return
                }
                completion(isRead
                    ? .error(.timeout, "no answer from node \(candidate) in time; a read changes nothing: retry")
                    : .error(.timeout, "no answer from node \(candidate) in time; the request may or may not have been applied"))
            }
        }
    }

    func relayToMember(_ request: ClientRequest, hops: UInt8, completion: @escaping Completion) {
        guard hops < Self.hopsMax else {
            completion(.error(.noLeader, "no member of the cluster is reachable from here; retry"))
            return
        }
        let payload = ForwardCodec.encode(request, hops: hops + 1)
        let members = runtime.seedMembers.keys.sorted().filter { $0 != nodeID }
        forward(payload, to: members[...], request: request, hops: hops, deadline: nil,
                unreachable: .error(.unknownShard, "this host has not joined its cluster yet and no member given in --members is reachable"),
                completion: completion)
    }

    static func response(for error: NodeHostError, shard: ShardID) -> ClientResponse {
        switch error {
        case .unknownShard: return .error(.unknownShard, "shard \(shard) has no replica on this host")
        case .notLeader, .noLeader: return .error(.noLeader, "shard \(shard) has no leader right now; retry")
        case .busy(let detail): return .error(.busy, detail)
        case .timeout: return .error(.timeout, "no answer in time; the request may or may not have been applied")
        case .shuttingDown: return .error(.shuttingDown, "the host is stopping; retry on another host")
        case .notCaughtUp(let detail): return .error(.notCaughtUp, detail)
        case .invalid(let detail): return .error(.badRequest, detail)
        case .failed(let detail): return .error(.internalError, detail)
        }
    }
}

extension ClientRequest {
    /// Requests that change nothing, and so may be carried out again when an answer is lost.
    var isRead: Bool {
        switch self {
        case .get, .staleGet, .status, .replicaStatus, .shard, .ping, .timeToLive, .scan, .keyCount, .shardCount, .placement,
             .clusterMap, .routes, .clientAddresses: return true
        default: return false
        }
    }
}
