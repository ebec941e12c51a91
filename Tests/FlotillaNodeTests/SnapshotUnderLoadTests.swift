import FlotillaHost
import FlotillaHostTesting
import FlotillaLogStore
import FlotillaNode
import FlotillaRaft
import Foundation
import Synchronization
import XCTest

/// Automatic snapshots taken while many writes are in flight, on real LMDB files, three hosts:
/// the record of a snapshot and its compaction reach the store only once every entry it
/// compacts is there (the store resolves the compaction's term when the record is submitted,
/// and a replica may apply an entry committed by its peers before its own copy is durable).
/// Before that rule a compaction could find its entry missing, take term 0 and drop the log
/// after it: the next append failed and the host stopped.
final class SnapshotUnderLoadTests: XCTestCase {
    var root = ""

    override func setUp() {
        root = NSTemporaryDirectory() + "flotilla-snapshot-load-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func openHost(_ node: UInt64, network: MemoryNetwork, failures: FailureLog) throws -> (NodeHost, LogStore) {
        let directory = "\(root)/node-\(node)"
        let store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: node, clusterID: 9))
        var configuration = NodeHostConfiguration(nodeID: ReplicaID(node), clusterID: 9, dataDirectory: directory)
        configuration.tickMilliseconds = 10
        configuration.snapshotEveryEntries = 30
        // The compaction point stays right behind the applied index: its entry is often still
        // in a write in flight when a snapshot's file is done.
        configuration.compactionKeepEntries = 1
        let host = try NodeHost(configuration: configuration, store: LMDBHostLogStore(store: store),
                                transport: network.transport(for: ReplicaID(node)),
                                failStop: { reason in failures.reasons.withLock { $0.append("node \(node): \(reason)") } })
        network.attach(ReplicaID(node), receiver: host, snapshotDirectory: directory + "/incoming")
        host.start()
        return (host, store)
    }

    func leader(among hosts: [NodeHost]) async throws -> NodeHost {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if let found = hosts.first(where: { $0.role(in: ShardID(1)) == .leader }) { return found }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        XCTFail("no leader")
        throw CancellationError()
    }

    func testSnapshotsAmidWritesInFlightKeepTheLogAndEveryWrite() async throws {
        let failures = FailureLog()
        let network = MemoryNetwork()
        let membership = Membership(voters: [ReplicaID(1): "a", ReplicaID(2): "b", ReplicaID(3): "c"])
        var hosts: [(NodeHost, LogStore)] = []
        for node in 1...3 as ClosedRange<UInt64> {
            let opened = try openHost(node, network: network, failures: failures)
            try opened.0.bootstrapShard(ShardID(1), membership: membership)
            hosts.append(opened)
        }
        let writer = try await leader(among: hosts.map(\.0))
        let keys = 3_000
        let acknowledged = AcknowledgedKeys()
        await withTaskGroup(of: Void.self) { group in
            for lane in 0..<48 {
                group.addTask {
                    for number in stride(from: lane, to: keys, by: 48) {
                        let result = await writer.propose(ShardID(1), .put(key: Array("k\(number)".utf8), value: Array("v\(number)".utf8)))
                        if case .success(.ok) = result { _ = acknowledged.numbers.withLock { $0.insert(number) } }
                    }
                }
            }
        }
        XCTAssertEqual(failures.reasons.withLock { $0 }, [], "no host stopped")
        XCTAssertEqual(acknowledged.numbers.withLock { $0.count }, keys, "every write was acknowledged")
        let status = try await writer.status(ShardID(1)).get()
        XCTAssertGreaterThan(status.snapshot, LogIndex(1_000), "automatic snapshots were taken along the way")

        // A full stop, then every host from its own files.
        for (node, pair) in hosts.enumerated() {
            network.detach(ReplicaID(UInt64(node + 1)))
            pair.0.stop()
            pair.1.close()
        }
        hosts = try (1...3 as ClosedRange<UInt64>).map { try openHost($0, network: network, failures: failures) }
        let restarted = try await leader(among: hosts.map(\.0))
        let after = try await restarted.propose(ShardID(1), .put(key: Array("after".utf8), value: [1])).get()
        XCTAssertEqual(after, .ok, "the restarted logs take new writes")
        for (host, _) in hosts {
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline, (try? await host.staleRead(ShardID(1), key: Array("after".utf8)).get()) == nil {
                try await Task.sleep(nanoseconds: 5_000_000)
            }
            var missing: [Int] = []
            for number in 0..<keys where (try? await host.staleRead(ShardID(1), key: Array("k\(number)".utf8)).get()) != Array("v\(number)".utf8) {
                missing.append(number)
            }
            XCTAssertEqual(missing, [], "every acknowledged write on every replica after the restart")
        }
        XCTAssertEqual(failures.reasons.withLock { $0 }, [], "no host stopped")
        for pair in hosts {
            pair.0.stop()
            pair.1.close()
        }
    }
}

/// The reasons hosts gave for stopping, in place of exiting.
final class FailureLog: Sendable {
    let reasons = Mutex<[String]>([])
}

/// The keys whose writes were acknowledged.
final class AcknowledgedKeys: Sendable {
    let numbers = Mutex<Set<Int>>([])
}
