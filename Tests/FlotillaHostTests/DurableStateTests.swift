import FlotillaHost
import FlotillaHostTesting
import FlotillaRaft
import Foundation
import XCTest

/// Issue 12: a shard's key-value state is written to the host's store with its log (in the
/// round's write, or on the next tick when the round wrote nothing else), so that a restarted
/// replica resumes at its stored applied index, with its stored state, instead of reading the
/// snapshot file and replaying the log.
final class DurableStateTests: XCTestCase {
    let shard = ShardID(1)

    func testARestartResumesFromTheStoredStateWithoutApplyingAnythingTwice() async throws {
        let cluster = TestCluster { $0.snapshotEveryEntries = 25 }
        try cluster.bootstrap(voters: [1], shards: [1])
        let host = try cluster.leader(of: 1)
        var expected: [String: String] = [:]
        for number in 0..<60 {
            try await cluster.put(1, "key-\(number)", "value-\(number)")
            expected["key-\(number)"] = "value-\(number)"
        }
        // Not idempotent: applied twice, the counter would say so.
        for _ in 0..<7 { _ = try await host.propose(shard, .increment(key: Array("counter".utf8), delta: 3)).get() }
        expected["counter"] = "21"
        _ = try await host.propose(shard, .delete(key: Array("key-5".utf8))).get()
        expected["key-5"] = nil
        let applied = try await host.status(shard).get().applied

        let store = cluster.stores[ReplicaID(1)]!
        try cluster.waitUntil("the state written through \(applied)") {
            (try store.loadReplicas().first?.stateApplied?.index ?? .zero) >= applied
        }
        let stored = try storedState(store)
        XCTAssertEqual(stored, expected, "the stored state is the applied state")
        let snapshotIndex = try store.loadReplicas().first?.snapshot?.metadata.index ?? .zero
        XCTAssertGreaterThan(snapshotIndex, .zero, "a snapshot was taken (so the old restart would have read it)")

        cluster.crash(ReplicaID(1))
        let restarted = try cluster.start(ReplicaID(1))
        let status = try await restarted.status(shard).get()
        XCTAssertGreaterThanOrEqual(status.applied, applied, "the replica starts applied through its stored state, not its snapshot at \(snapshotIndex)")
        XCTAssertEqual(status.keys, expected.count)
        _ = try cluster.leader(of: 1)
        for (key, value) in expected {
            let read = try await restarted.read(shard, key: Array(key.utf8)).get()
            XCTAssertEqual(text(read), value, key)
        }
        let after = try await restarted.propose(shard, .increment(key: Array("counter".utf8), delta: 1)).get()
        XCTAssertEqual(after, .integer(22))
    }

    /// A follower that was away while the leader compacted gets a snapshot; the state it
    /// installs replaces its stored state, so a crash after that restarts it from the stored
    /// state, equal to the leader's.
    func testAnInstalledSnapshotReplacesTheStoredState() async throws {
        let cluster = TestCluster { configuration in
            configuration.snapshotEveryEntries = 20
            // Nothing kept after a snapshot: the follower can only catch up by one.
            configuration.compactionKeepEntries = 0
        }
        try cluster.bootstrap(voters: [1, 2, 3], shards: [1])
        for number in 0..<10 { try await cluster.put(1, "early-\(number)", "e\(number)") }
        let leader = try cluster.leader(of: 1)
        let follower = [ReplicaID(1), ReplicaID(2), ReplicaID(3)].first { cluster.hosts[$0] !== leader }!
        cluster.crash(follower)
        var expected: [String: String] = [:]
        for number in 0..<10 { expected["early-\(number)"] = "e\(number)" }
        for number in 0..<80 {
            try await cluster.put(1, "late-\(number)", "l\(number)")
            expected["late-\(number)"] = "l\(number)"
        }
        try cluster.start(follower)
        let store = cluster.stores[follower]!
        try cluster.waitUntil("the follower's stored state to hold the leader's data", timeoutSeconds: 20) {
            try self.storedState(store) == expected
        }
        let stored = try XCTUnwrap(store.loadReplicas().first)
        let snapshot = try XCTUnwrap(stored.snapshot, "the follower holds a snapshot")
        XCTAssertGreaterThanOrEqual(stored.stateApplied?.index ?? .zero, snapshot.metadata.index,
                                    "the stored state is at or past the installed snapshot")

        cluster.crash(follower)
        let restarted = try cluster.start(follower)
        let status = try await restarted.status(shard).get()
        XCTAssertEqual(status.keys, expected.count)
        for (key, value) in expected {
            let read = try await restarted.staleRead(shard, key: Array(key.utf8)).get()
            XCTAssertEqual(text(read), value, key)
        }
    }

    private func storedState(_ store: MemoryHostLogStore) throws -> [String: String] {
        var state: [String: String] = [:]
        var after: [UInt8]?
        while true {
            let rows = try store.stateRows(shard: shard, after: after, limit: 16)
            for row in rows { state[String(decoding: row.key, as: UTF8.self)] = String(decoding: row.value, as: UTF8.self) }
            guard let last = rows.last, rows.count == 16 else { return state }
            after = last.key
        }
    }
}
