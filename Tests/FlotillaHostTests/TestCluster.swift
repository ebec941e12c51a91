import FlotillaHost
import FlotillaHostTesting
import FlotillaRaft
import Foundation
import XCTest

/// Several NodeHosts in one test process over a `MemoryNetwork`, each with an in-memory store
/// that survives a simulated crash of its host.
final class TestCluster {
    let network: MemoryNetwork
    let root: String
    var stores: [ReplicaID: MemoryHostLogStore] = [:]
    var hosts: [ReplicaID: NodeHost] = [:]
    let clusterID: UInt64 = 7
    var tune: (inout NodeHostConfiguration) -> Void

    init(tune: @escaping (inout NodeHostConfiguration) -> Void = { _ in }) {
        network = MemoryNetwork()
        root = NSTemporaryDirectory() + "flotilla-host-test-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        self.tune = tune
    }

    deinit {
        for host in hosts.values { host.stop() }
        try? FileManager.default.removeItem(atPath: root)
    }

    func configuration(_ node: ReplicaID) -> NodeHostConfiguration {
        var configuration = NodeHostConfiguration(nodeID: node, clusterID: clusterID, dataDirectory: "\(root)/node-\(node)")
        configuration.tickMilliseconds = 10
        configuration.electionTimeoutTicks = 10
        configuration.requestTimeoutMilliseconds = 3_000
        tune(&configuration)
        return configuration
    }

    /// Starts a host on its (possibly existing) store; `prepare` runs before it starts.
    @discardableResult
    func start(_ node: ReplicaID, prepare: (NodeHost) throws -> Void = { _ in }) throws -> NodeHost {
        let store = stores[node] ?? MemoryHostLogStore()
        stores[node] = store
        let host = try NodeHost(configuration: configuration(node), store: store, transport: network.transport(for: node))
        try prepare(host)
        network.attach(node, receiver: host, snapshotDirectory: "\(root)/node-\(node)/incoming")
        host.start()
        hosts[node] = host
        return host
    }

    /// Starts `voters` hosts, each bootstrapping `shards` shards with those voters first.
    func bootstrap(voters: [UInt64], shards: [UInt64]) throws {
        let membership = Membership(voters: Dictionary(uniqueKeysWithValues: voters.map { (ReplicaID($0), "host-\($0)") }))
        for voter in voters {
            try start(ReplicaID(voter)) { host in
                for shard in shards { try host.bootstrapShard(ShardID(shard), membership: membership) }
            }
        }
    }

    /// Kills a host: nothing more is sent or received; its store keeps what was durable.
    func crash(_ node: ReplicaID) {
        network.detach(node)
        hosts.removeValue(forKey: node)?.stop()
    }

    func host(_ node: UInt64) -> NodeHost { hosts[ReplicaID(node)]! }

    /// The host that leads `shard`, once every running host agrees on one that is running.
    func leader(of shard: UInt64, timeoutSeconds: Double = 10) throws -> NodeHost {
        var found: NodeHost?
        try waitUntil("a leader for shard \(shard)", timeoutSeconds: timeoutSeconds) {
            for host in hosts.values where host.role(in: ShardID(shard)) == .leader {
                found = host
                return true
            }
            return false
        }
        return found!
    }

    /// Polls `condition` until it holds or the deadline passes (a wait on a condition, never a
    /// fixed sleep).
    func waitUntil(_ what: String, timeoutSeconds: Double = 10, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(5_000)
        }
        throw WaitTimeout(what: what)
    }

    func waitUntilAsync(_ what: String, timeoutSeconds: Double = 10, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        throw WaitTimeout(what: what)
    }

    /// Writes through whichever host leads, retrying on leader changes.
    func put(_ shard: UInt64, _ key: String, _ value: String, timeoutSeconds: Double = 10) async throws {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            for host in hosts.values where host.role(in: ShardID(shard)) == .leader {
                if case .success = await host.propose(ShardID(shard), .put(key: Array(key.utf8), value: Array(value.utf8))) {
                    return
                }
            }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        throw WaitTimeout(what: "put \(key) on shard \(shard)")
    }
}

struct WaitTimeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
