import FlotillaHost
import FlotillaHostTesting
import FlotillaRaft
import Foundation
import Synchronization
import XCTest

/// A store that fails for good (a failed sync, an I/O error) stops the host at once: the
/// fail-stop handler is called with the reason, the write is never retried, and nothing is
/// acknowledged after it; a waiting proposal is answered `timeout` (its fate is unknown).
final class FailStopTests: XCTestCase {
    /// An in-memory store whose writes fail with `HostStoreFailure` once `failing` is set, and
    /// which counts the writes it was asked for after that.
    final class FailingStore: HostLogStore, @unchecked Sendable {
        let inner = MemoryHostLogStore()
        let failing = Atomic<Bool>(false)
        let writesAfterFailure = Atomic<Int>(0)

        func persist(_ updates: [ReplicaLogUpdate]) throws {
            if failing.load(ordering: .acquiring) {
                writesAfterFailure.add(1, ordering: .relaxed)
                throw HostStoreFailure("fdatasync failed: EIO (input/output error)")
            }
            try inner.persist(updates)
        }
        func loadReplicas() throws -> [StoredReplica] { try inner.loadReplicas() }
        func entries(shard: ShardID, from: LogIndex, through: LogIndex, bytesMax: Int) throws -> [Entry] {
            try inner.entries(shard: shard, from: from, through: through, bytesMax: bytesMax)
        }
        func term(shard: ShardID, at index: LogIndex) throws -> Term? { try inner.term(shard: shard, at: index) }
        func stateRows(shard: ShardID, after: [UInt8]?, limit: Int) throws -> [StoredKeyValue] {
            try inner.stateRows(shard: shard, after: after, limit: limit)
        }
    }

    func testAFailedSyncStopsTheHostWithoutRetrying() async throws {
        let network = MemoryNetwork()
        let root = NSTemporaryDirectory() + "flotilla-fail-stop-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = FailingStore()
        let reasons = Mutex<[String]>([])
        var configuration = NodeHostConfiguration(nodeID: ReplicaID(1), clusterID: 7, dataDirectory: root)
        configuration.tickMilliseconds = 10
        configuration.electionTimeoutTicks = 10
        let host = try NodeHost(configuration: configuration, store: store, transport: network.transport(for: ReplicaID(1)),
                                failStop: { reason in reasons.withLock { $0.append(reason) } })
        try host.bootstrapShard(ShardID(1), membership: Membership(voters: [ReplicaID(1): "host-1"]))
        network.attach(ReplicaID(1), receiver: host, snapshotDirectory: root + "/incoming")
        host.start()
        defer { host.stop() }
        let deadline = Date().addingTimeInterval(10)
        while host.role(in: ShardID(1)) != .leader && Date() < deadline { try await Task.sleep(nanoseconds: 5_000_000) }
        XCTAssertEqual(host.role(in: ShardID(1)), .leader)
        let before = await host.propose(ShardID(1), .put(key: Array("before".utf8), value: [1]))
        XCTAssertEqual(before, .success(.ok))

        store.failing.store(true, ordering: .releasing)
        let failed = await host.propose(ShardID(1), .put(key: Array("lost".utf8), value: [1]))
        XCTAssertEqual(failed, .failure(.timeout), "a proposal in the log when the store failed has an unknown fate")
        XCTAssertEqual(reasons.withLock { $0 }, ["fdatasync failed: EIO (input/output error)"])
        let later = await host.propose(ShardID(1), .put(key: Array("later".utf8), value: [1]))
        XCTAssertEqual(later, .failure(.shuttingDown), "after a fail-stop nothing reaches a log")
        XCTAssertEqual(store.writesAfterFailure.load(ordering: .relaxed), 1, "the failed write was retried")
    }

    /// The store is shared by every step worker: once one worker's write failed for good, the
    /// others stop too (found by the host simulator, seeds 33 and 126: another worker went on
    /// sending and writing until the process exited), and the handler is called once.
    func testAFailedSyncStopsEveryWorker() async throws {
        let network = MemoryNetwork()
        let root = NSTemporaryDirectory() + "flotilla-fail-stop-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = FailingStore()
        let reasons = Mutex<[String]>([])
        var configuration = NodeHostConfiguration(nodeID: ReplicaID(1), clusterID: 7, dataDirectory: root)
        configuration.tickMilliseconds = 10
        configuration.electionTimeoutTicks = 10
        configuration.workerCount = 2
        let host = try NodeHost(configuration: configuration, store: store, transport: network.transport(for: ReplicaID(1)),
                                failStop: { reason in reasons.withLock { $0.append(reason) } })
        // Shards 1 and 2 are owned by different workers (shard modulo worker count).
        for shard in [ShardID(1), ShardID(2)] {
            try host.bootstrapShard(shard, membership: Membership(voters: [ReplicaID(1): "host-1"]))
        }
        network.attach(ReplicaID(1), receiver: host, snapshotDirectory: root + "/incoming")
        host.start()
        defer { host.stop() }
        let deadline = Date().addingTimeInterval(10)
        while (host.role(in: ShardID(1)) != .leader || host.role(in: ShardID(2)) != .leader) && Date() < deadline {
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        XCTAssertEqual(host.role(in: ShardID(2)), .leader)

        store.failing.store(true, ordering: .releasing)
        let failed = await host.propose(ShardID(1), .put(key: Array("lost".utf8), value: [1]))
        XCTAssertEqual(failed, .failure(.timeout))
        let otherWorker = await host.propose(ShardID(2), .put(key: Array("other".utf8), value: [1]))
        XCTAssertEqual(otherWorker, .failure(.shuttingDown), "the other worker went on after the store failed")
        XCTAssertEqual(reasons.withLock { $0 }.count, 1, "the fail-stop handler is called once")
        XCTAssertEqual(store.writesAfterFailure.load(ordering: .relaxed), 1, "another worker wrote to the failed store")
    }
}
