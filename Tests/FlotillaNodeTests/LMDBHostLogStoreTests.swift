import FlotillaHost
import FlotillaHostTesting
import FlotillaLogStore
import FlotillaNode
import FlotillaRaft
import Foundation
import XCTest

/// NodeHosts on real LMDB files: writes, automatic snapshots and compaction, a full stop and
/// restart from disk, and an observer catching up by snapshot.
final class LMDBHostLogStoreTests: XCTestCase {
    var root = ""

    override func setUp() {
        root = NSTemporaryDirectory() + "flotilla-node-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func openHost(_ node: UInt64, network: MemoryNetwork) throws -> (NodeHost, LogStore) {
        let directory = "\(root)/node-\(node)"
        let store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: node, clusterID: 5))
        var configuration = NodeHostConfiguration(nodeID: ReplicaID(node), clusterID: 5, dataDirectory: directory)
        configuration.tickMilliseconds = 10
        configuration.snapshotEveryEntries = 40
        configuration.compactionKeepEntries = 10
        let host = try NodeHost(configuration: configuration, store: LMDBHostLogStore(store: store), transport: network.transport(for: ReplicaID(node)))
        network.attach(ReplicaID(node), receiver: host, snapshotDirectory: directory + "/incoming")
        host.start()
        return (host, store)
    }

    func waitFor(_ what: String, _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if await condition() { return }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTFail("timed out waiting for \(what)")
        throw CancellationError()
    }

    func testThreeHostsOnLMDBSurviveAFullRestartAndFeedAnObserver() async throws {
        let network = MemoryNetwork()
        var hosts: [UInt64: (NodeHost, LogStore)] = [:]
        let membership = Membership(voters: [ReplicaID(1): "a", ReplicaID(2): "b", ReplicaID(3): "c"])
        for node in 1...3 as ClosedRange<UInt64> {
            hosts[node] = try openHost(node, network: network)
            for shard in 1...2 as ClosedRange<UInt64> { try hosts[node]!.0.bootstrapShard(ShardID(shard), membership: membership) }
        }
        func leader(_ shard: UInt64) async throws -> NodeHost {
            var found: NodeHost?
            try await waitFor("a leader") {
                found = hosts.values.map(\.0).first { $0.role(in: ShardID(shard)) == .leader }
                return found != nil
            }
            return found!
        }
        for shard in 1...2 as ClosedRange<UInt64> {
            let host = try await leader(shard)
            for number in 0..<100 {
                let result = await host.propose(ShardID(shard), .put(key: Array("k\(number)".utf8), value: Array("v\(number)".utf8)))
                XCTAssertEqual(try result.get(), .ok)
            }
        }
        let compacted = try hosts[1]!.1.bounds(shard: ShardID(1), replica: ReplicaID(1))
        XCTAssertGreaterThan(compacted.firstIndex, LogIndex(20), "automatic snapshots compacted the LMDB log")

        // Stop everything (as after a power cut, the stores keep only what was durable), reopen.
        for (node, pair) in hosts {
            network.detach(ReplicaID(node))
            pair.0.stop()
            pair.1.close()
        }
        hosts = [:]
        for node in 1...3 as ClosedRange<UInt64> { hosts[node] = try openHost(node, network: network) }
        for shard in 1...2 as ClosedRange<UInt64> {
            let host = try await leader(shard)
            let value = try await host.read(ShardID(shard), key: Array("k99".utf8)).get()
            XCTAssertEqual(value, Array("v99".utf8))
        }

        let (joiner, joinerStore) = try openHost(4, network: network)
        let shardLeader = try await leader(1)
        try await shardLeader.addObserver(ShardID(1), node: ReplicaID(4), address: "d").get()
        let commit = try await shardLeader.status(ShardID(1)).get().commit
        try await waitFor("the observer to catch up") {
            ((try? await joiner.status(ShardID(1)).get())?.applied ?? .zero) >= commit
        }
        let stale = try await joiner.staleRead(ShardID(1), key: Array("k42".utf8)).get()
        XCTAssertEqual(stale, Array("v42".utf8))
        XCTAssertEqual(joiner.role(in: ShardID(1)), .observer)
        // Restarted, the observer finds its role in its own data.
        network.detach(ReplicaID(4))
        joiner.stop()
        joinerStore.close()
        let (again, againStore) = try openHost(4, network: network)
        try await waitFor("the restarted observer") { again.role(in: ShardID(1)) == .observer }
        again.stop()
        againStore.close()
        for pair in hosts.values {
            pair.0.stop()
            pair.1.close()
        }
    }
}
