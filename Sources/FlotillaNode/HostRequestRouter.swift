import FlotillaHost
import FlotillaRaft
import FlotillaServer
import FlotillaTransport
import Foundation
import Synchronization

/// Answers line-protocol requests on one host. Any host answers any key: a request that
/// needs the shard's leader is carried out here when this host leads, and otherwise relayed
/// (over the raft transport) to the leader this host knows, or to a member when it holds no
/// replica of the shard. A request is relayed at most twice, so relays never loop.
public final class HostRequestRouter: ClientRequestHandler, ForwardRequestHandler {
    let runtime: HostRuntime
    let stopping = Atomic<Bool>(false)
    /// How long a request waits out an election before answering `NO_LEADER`.
    let electionWaitMilliseconds: Int
    static let hopsMax: UInt8 = 2

    public init(runtime: HostRuntime, electionWaitMilliseconds: Int = 3_000) {
        self.runtime = runtime
        self.electionWaitMilliseconds = electionWaitMilliseconds
        runtime.transport.setForwardHandler(self)
    }

    public func handleForward(_ payload: [UInt8]) async -> [UInt8] {
        guard let (request, hops) = try? ForwardCodec.decodeRequest(payload) else {
            return ForwardCodec.encode(.error(.badRequest, "malformed forwarded request"))
        }
        return ForwardCodec.encode(await route(request, hops: hops))
    }

    /// From now on every request is answered `SHUTTING_DOWN`.
    public func beginShutdown() { stopping.store(true, ordering: .releasing) }

    var nodeHost: NodeHost { runtime.nodeHost }

    public func handle(_ request: ClientRequest) async -> ClientResponse {
        await route(request, hops: 0)
    }

    func route(_ request: ClientRequest, hops: UInt8) async -> ClientResponse {
        if stopping.load(ordering: .acquiring) { return .error(.shuttingDown, "the host is stopping; retry on another host") }
        if case .staleGet = request, runtime.shardCount == 0 {
            return .error(.unknownShard, "this host holds no replica yet (it has not joined its cluster)")
        }
        if runtime.shardCount == 0 && request != .ping {
            // A joining host that has not heard from its cluster yet cannot map keys to
            // shards: a member of the cluster answers instead.
            return await relayToMember(request, hops: hops)
        }
        switch request {
        case .ping:
            return .pong
        case .shard(let key):
            return .shard(shardOf(key: key, shardCount: runtime.shardCount))
        case .put(let key, let value):
            return await write(key, .put(key: key, value: value), request, hops)
        case .delete(let key):
            return await write(key, .delete(key: key), request, hops)
        case .compareAndSet(let key, let expected, let new):
            return await write(key, .compareAndSet(key: key, expected: expected, new: new), request, hops)
        case .get(let key):
            let shard = ShardID(shardOf(key: key, shardCount: runtime.shardCount))
            return await withLeaderRetry(shard, request, hops, anyReplica: true) { host in
                await host.read(shard, key: key).map { value in value.map(ClientResponse.value) ?? .notFound }
            }
        case .staleGet(let key):
            let shard = ShardID(shardOf(key: key, shardCount: runtime.shardCount))
            switch await nodeHost.staleRead(shard, key: key) {
            case .success(let value): return value.map(ClientResponse.value) ?? .notFound
            case .failure(let error): return Self.response(for: error, shard: shard)
            }
        case .status(let number):
            guard let shard = validShard(number) else { return unknownShard(number) }
            if nodeHost.role(in: shard) != nil, nodeHost.role(in: shard) != .removed {
                switch await nodeHost.status(shard) {
                case .success(let status): return .status(status.line)
                case .failure(let error): return Self.response(for: error, shard: shard)
                }
            }
            return await relay(request, shard: shard, to: nil, hops: hops)
        case .addObserver(let number, let node, let address):
            guard let shard = validShard(number) else { return unknownShard(number) }
            guard node > 0 else { return .error(.badRequest, "node ids are positive") }
            return await admin(shard, request, hops) { await $0.addObserver(shard, node: ReplicaID(node), address: address).map { .ok } }
        case .promote(let number, let node):
            guard let shard = validShard(number) else { return unknownShard(number) }
            return await admin(shard, request, hops) { await $0.promote(shard, node: ReplicaID(node)).map { .ok } }
        case .remove(let number, let node):
            guard let shard = validShard(number) else { return unknownShard(number) }
            return await admin(shard, request, hops) { await $0.remove(shard, node: ReplicaID(node)).map { .ok } }
        case .transfer(let number, let node):
            guard let shard = validShard(number) else { return unknownShard(number) }
            return await admin(shard, request, hops) { await $0.transfer(shard, to: ReplicaID(node)).map { .ok } }
        case .snapshot(let number):
            guard let shard = validShard(number) else { return unknownShard(number) }
            return await admin(shard, request, hops) { await $0.snapshot(shard).map { .okIndex($0.rawValue) } }
        case .export(let number, let directory):
            guard let shard = validShard(number) else { return unknownShard(number) }
            switch await nodeHost.export(shard, directory: directory) {
            case .success(let exported): return .exported(index: exported.index.rawValue, file: exported.file)
            case .failure(.unknownShard):
                return .error(.unknownShard, "shard \(shard) has no replica on this host; export it on a host that holds one")
            case .failure(let error): return Self.response(for: error, shard: shard)
            }
        }
    }

    func validShard(_ number: UInt64) -> ShardID? {
        number >= 1 && number <= runtime.shardCount ? ShardID(number) : nil
    }

    func unknownShard(_ number: UInt64) -> ClientResponse {
        .error(.unknownShard, "shard \(number) is out of range 1...\(runtime.shardCount)")
    }

    func write(_ key: [UInt8], _ command: KeyValueCommand, _ request: ClientRequest, _ hops: UInt8) async -> ClientResponse {
        let shard = ShardID(shardOf(key: key, shardCount: runtime.shardCount))
        return await withLeaderRetry(shard, request, hops, anyReplica: false) { host in
            await host.propose(shard, command).map { $0 == .ok ? .ok : .mismatch }
        }
    }

    func admin(_ shard: ShardID, _ request: ClientRequest, _ hops: UInt8,
               _ operation: @escaping (NodeHost) async -> Result<ClientResponse, NodeHostError>) async -> ClientResponse {
        await withLeaderRetry(shard, request, hops, anyReplica: false, operation)
    }

    /// Runs `operation` here when this host can (a leader, or any replica for reads), relays it
    /// to the leader otherwise, and rides out a short election.
    func withLeaderRetry(_ shard: ShardID, _ request: ClientRequest, _ hops: UInt8, anyReplica: Bool,
                         _ operation: (NodeHost) async -> Result<ClientResponse, NodeHostError>) async -> ClientResponse {
        let deadline = Date().addingTimeInterval(Double(electionWaitMilliseconds) / 1000)
        while true {
            let role = nodeHost.role(in: shard)
            if role == nil || role == .removed {
                return await relay(request, shard: shard, to: nil, hops: hops)
            }
            let leader = nodeHost.leader(of: shard) ?? .none
            if role == .leader || (anyReplica && leader != .none) {
                switch await operation(nodeHost) {
                case .success(let response):
                    return response
                case .failure(.notLeader(let hint)) where hint != .none && hint != runtime.options.nodeID:
                    return await relay(request, shard: shard, to: hint, hops: hops)
                case .failure(.noLeader), .failure(.notLeader):
                    break
                case .failure(let error):
                    return Self.response(for: error, shard: shard)
                }
            } else if leader != .none && leader != runtime.options.nodeID {
                return await relay(request, shard: shard, to: leader, hops: hops)
            }
            if Date() >= deadline {
                return .error(.noLeader, "shard \(shard) has no leader right now; retry")
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// Relays to `node`, or when nil to a member of the shard (or of the cluster) that is not us.
    func relay(_ request: ClientRequest, shard: ShardID, to node: ReplicaID?, hops: UInt8) async -> ClientResponse {
        guard hops < Self.hopsMax else {
            return .error(.noLeader, "shard \(shard) has no reachable leader from here; retry")
        }
        var candidates: [ReplicaID] = []
        if let node { candidates.append(node) }
        let known = nodeHost.members(of: shard).keys.sorted() + runtime.seedMembers.keys.sorted()
        for member in known where member != runtime.options.nodeID && !candidates.contains(member) { candidates.append(member) }
        guard !candidates.isEmpty else {
            return .error(.unknownShard, "shard \(shard) is not hosted here and no other host is known")
        }
        let payload = ForwardCodec.encode(request, hops: hops + 1)
        for candidate in candidates.prefix(3) {
            do {
                let answer = try await runtime.transport.forward(to: candidate, payload: payload)
                return try ForwardCodec.decodeResponse(answer)
            } catch TCPTransportError.notSent, TCPTransportError.unknownPeer {
                // The request never left: safe to try the next host.
                continue
            } catch {
                return .error(.timeout, "no answer from node \(candidate) in time; the request may or may not have been applied")
            }
        }
        return .error(.noLeader, "no host that can serve shard \(shard) is reachable; retry")
    }

    func relayToMember(_ request: ClientRequest, hops: UInt8) async -> ClientResponse {
        guard hops < Self.hopsMax else { return .error(.noLeader, "no member of the cluster is reachable from here; retry") }
        let payload = ForwardCodec.encode(request, hops: hops + 1)
        for member in runtime.seedMembers.keys.sorted() where member != runtime.options.nodeID {
            do {
                return try ForwardCodec.decodeResponse(try await runtime.transport.forward(to: member, payload: payload))
            } catch TCPTransportError.notSent, TCPTransportError.unknownPeer {
                continue
            } catch {
                return .error(.timeout, "no answer from node \(member) in time; the request may or may not have been applied")
            }
        }
        return .error(.unknownShard, "this host has not joined its cluster yet and no member given in --members is reachable")
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
