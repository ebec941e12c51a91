import FlotillaHost
import FlotillaRaft
import Foundation
import XCTest

final class NodeHostTests: XCTestCase {
    func testWritesAndLinearizableReadsOnManyShards() async throws {
        let cluster = TestCluster()
        let shards: [UInt64] = Array(1...8)
        try cluster.bootstrap(voters: [1, 2, 3], shards: shards)
        for shard in shards {
            _ = try cluster.leader(of: shard)
            for number in 0..<5 {
                try await cluster.put(shard, "key-\(shard)-\(number)", "value-\(number)")
            }
        }
        // Every host answers linearizable reads for every shard, followers included.
        for node in [1, 2, 3] as [UInt64] {
            for shard in shards {
                let read = try await cluster.host(node).read(ShardID(shard), key: Array("key-\(shard)-4".utf8)).get()
                XCTAssertEqual(text(read), "value-4", "node \(node) shard \(shard)")
                let missing = try await cluster.host(node).read(ShardID(shard), key: Array("absent".utf8)).get()
                XCTAssertNil(missing)
            }
        }
        // Proposals on a follower are refused with the leader's id, for the caller to forward.
        let leader = try cluster.leader(of: 1)
        let follower = cluster.hosts.values.first { $0.role(in: ShardID(1)) == .follower }!
        let refused = await follower.propose(ShardID(1), .put(key: [1], value: [2]))
        XCTAssertEqual(refused.failureValue, .notLeader(leader: leader.configuration.nodeID))
    }

    func testDeleteAndCompareAndSet() async throws {
        let cluster = TestCluster()
        try cluster.bootstrap(voters: [1], shards: [1])
        let host = try cluster.leader(of: 1)
        let key = Array("k".utf8)
        let first = try await host.propose(ShardID(1), .compareAndSet(key: key, expected: [1], new: [2])).get()
        XCTAssertEqual(first, .mismatch)
        let put = try await host.propose(ShardID(1), .put(key: key, value: [1])).get()
        XCTAssertEqual(put, .ok)
        let swapped = try await host.propose(ShardID(1), .compareAndSet(key: key, expected: [1], new: [2])).get()
        XCTAssertEqual(swapped, .ok)
        let value = try await host.read(ShardID(1), key: key).get()
        XCTAssertEqual(value, [2])
        let deleted = try await host.propose(ShardID(1), .delete(key: key)).get()
        XCTAssertEqual(deleted, .existed(true))
        let gone = try await host.read(ShardID(1), key: key).get()
        XCTAssertEqual(gone, nil)
        let unknown = await host.read(ShardID(99), key: key)
        XCTAssertEqual(unknown.failureValue, NodeHostError.unknownShard(ShardID(99)))
    }

    func testLeaderFailoverAndRestartKeepsAcknowledgedWrites() async throws {
        let cluster = TestCluster()
        try cluster.bootstrap(voters: [1, 2, 3], shards: [1, 2])
        var acknowledged: [String] = []
        for number in 0..<20 {
            try await cluster.put(1, "before-\(number)", "\(number)")
            acknowledged.append("before-\(number)")
        }
        let oldLeader = try cluster.leader(of: 1).configuration.nodeID
        cluster.crash(oldLeader)
        try cluster.waitUntil("a new leader") {
            cluster.hosts.values.contains { $0.role(in: ShardID(1)) == .leader }
        }
        for number in 0..<20 {
            try await cluster.put(1, "after-\(number)", "\(number)")
            acknowledged.append("after-\(number)")
        }
        try cluster.start(oldLeader)
        let restarted = cluster.hosts[oldLeader]!
        try await cluster.waitUntilAsync("the restarted host to catch up") {
            (try? await restarted.staleRead(ShardID(1), key: Array("after-19".utf8)).get()) != nil
        }
        for key in acknowledged {
            for host in cluster.hosts.values {
                let value = try await host.read(ShardID(1), key: Array(key.utf8)).get()
                XCTAssertNotNil(value, "\(key) on \(host.configuration.nodeID)")
            }
        }
    }

    func testObserverAddedAfterCompactionCatchesUpBySnapshotThenIsPromoted() async throws {
        let cluster = TestCluster { configuration in
            configuration.snapshotEveryEntries = 20
            configuration.compactionKeepEntries = 5
        }
        try cluster.bootstrap(voters: [1, 2, 3], shards: [1])
        for number in 0..<60 { try await cluster.put(1, "key-\(number)", "\(number)") }
        let leader = try cluster.leader(of: 1)
        // Snapshots are written in the background, each once the one before it is recorded.
        try await cluster.waitUntilAsync("the leader compacted its log") {
            ((try? await leader.status(ShardID(1)).get())?.snapshot ?? .zero) > LogIndex(20)
        }
        let status = try await leader.status(ShardID(1)).get()

        cluster.network.corruptSnapshotChunks(1)
        let joiner = try cluster.start(ReplicaID(4))
        XCTAssertTrue(joiner.hostedShards.isEmpty)
        try await leader.addObserver(ShardID(1), node: ReplicaID(4), address: "host-4").get()
        try await cluster.waitUntilAsync("the observer to catch up") {
            guard let observed = try? await joiner.status(ShardID(1)).get() else { return false }
            return observed.role == .observer && observed.applied >= status.commit
        }
        XCTAssertEqual(cluster.network.chunksCorrupted, 1, "a corrupt chunk was refused and the snapshot re-sent")
        let stale = try await joiner.staleRead(ShardID(1), key: Array("key-59".utf8)).get()
        XCTAssertEqual(text(stale), "59")
        let vote = await joiner.propose(ShardID(1), .put(key: [1], value: [1]))
        XCTAssertNotNil(vote.failureValue)

        try await cluster.waitUntilAsync("promotion to succeed") {
            switch await leader.promote(ShardID(1), node: ReplicaID(4)) {
            case .success: return true
            case .failure(.notCaughtUp), .failure(.busy): return false
            case .failure(let error): throw error
            }
        }
        try cluster.waitUntil("host 4 to see itself a voter") { joiner.role(in: ShardID(1)) == .follower }
        // With four voters the shard survives losing one of the original three.
        cluster.crash(leader.configuration.nodeID)
        try await cluster.put(1, "after-promotion", "yes")
    }

    func testRemovedReplicaStopsServingAndIsNeverReadmitted() async throws {
        let cluster = TestCluster()
        try cluster.bootstrap(voters: [1, 2, 3], shards: [1])
        try await cluster.put(1, "a", "1")
        let leader = try cluster.leader(of: 1)
        let leaderID = leader.configuration.nodeID
        let victim = [ReplicaID(1), ReplicaID(2), ReplicaID(3)].first { $0 != leaderID }!
        try await leader.remove(ShardID(1), node: victim).get()
        try cluster.waitUntil("the removed host to learn it") { cluster.hosts[victim]!.role(in: ShardID(1)) == .removed }
        let read = await cluster.hosts[victim]!.staleRead(ShardID(1), key: Array("a".utf8))
        XCTAssertEqual(read.failureValue, NodeHostError.unknownShard(ShardID(1)))
        let again = await leader.addObserver(ShardID(1), node: victim, address: "host-\(victim)")
        guard case .invalid? = again.failureValue else { return XCTFail("re-adding a removed id was not refused: \(again)") }
        try await cluster.put(1, "b", "2")
    }

    func testLeadershipTransfer() async throws {
        let cluster = TestCluster()
        try cluster.bootstrap(voters: [1, 2, 3], shards: [1])
        try await cluster.put(1, "a", "1")
        let leader = try cluster.leader(of: 1)
        let leaderID = leader.configuration.nodeID
        let target = [ReplicaID(1), ReplicaID(2), ReplicaID(3)].first { $0 != leaderID }!
        try await leader.transfer(ShardID(1), to: target).get()
        XCTAssertEqual(cluster.hosts[target]!.role(in: ShardID(1)), .leader)
    }

    func testExportedSnapshotIsSelfContainedAndRefusedWhenCorrupt() async throws {
        let cluster = TestCluster()
        try cluster.bootstrap(voters: [1], shards: [3])
        for number in 0..<10 { try await cluster.put(3, "key-\(number)", "\(number)") }
        let host = try cluster.leader(of: 3)
        let directory = cluster.root + "/export"
        let exported = try await host.export(ShardID(3), directory: directory).get()
        XCTAssertTrue(exported.file.hasPrefix("/"))
        let loaded = try SnapshotFile.read(from: exported.file)
        XCTAssertEqual(loaded.header.shard, ShardID(3))
        XCTAssertEqual(loaded.header.metadata.index, exported.index)
        XCTAssertEqual(loaded.header.metadata.membership.voters, [ReplicaID(1)])
        XCTAssertEqual(text(loaded.stateMachine.value(for: Array("key-9".utf8))), "9")
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: exported.file)))
        for position in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 40)) {
            var corrupt = bytes
            corrupt[position] ^= 0x01
            XCTAssertThrowsError(try SnapshotFile.decode(corrupt), "flipped byte \(position) went unnoticed")
        }
        bytes.removeLast(7)
        XCTAssertThrowsError(try SnapshotFile.decode(bytes))
    }

    func testOneStoreWriteServesManyShards() async throws {
        let cluster = TestCluster { $0.workerCount = 1 }
        let shards: [UInt64] = Array(1...16)
        try cluster.bootstrap(voters: [1], shards: shards)
        for shard in shards { _ = try cluster.leader(of: shard) }
        let store = cluster.stores[ReplicaID(1)]!
        let host = cluster.host(1)
        let before = store.persistCallCount
        await withTaskGroup(of: Void.self) { group in
            for shard in shards {
                for number in 0..<20 {
                    group.addTask { _ = await host.propose(ShardID(shard), .put(key: Array("k\(number)".utf8), value: [1])) }
                }
            }
        }
        let writes = store.persistCallCount - before
        XCTAssertLessThan(writes, 16 * 20 * 2, "proposals of many shards share store writes")
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

final class QuiesceTests: XCTestCase {
    /// An idle shard falls quiet on every replica (no ticks, no heartbeats, no elections), and
    /// a request wakes it.
    func testIdleShardsQuiesceAndWakeOnRequest() async throws {
        let cluster = TestCluster { $0.quiesceAfterTicks = 5 }
        try cluster.bootstrap(voters: [1, 2, 3], shards: [1, 2])
        try await cluster.put(1, "a", "1")
        try await cluster.put(2, "b", "2")
        try await cluster.waitUntilAsync("every replica to fall quiet") {
            for host in cluster.hosts.values {
                for shard in [1, 2] as [UInt64] {
                    guard let status = try? await host.status(ShardID(shard)).get(), status.quiet else { return false }
                }
            }
            return true
        }
        let leader = try cluster.leader(of: 1)
        let term = try await leader.status(ShardID(1)).get().term
        try await cluster.put(1, "a", "again")
        let value = try await leader.read(ShardID(1), key: Array("a".utf8)).get()
        XCTAssertEqual(text(value), "again")
        let after = try await leader.status(ShardID(1)).get()
        XCTAssertEqual(after.term, term, "waking did not cause an election")
        XCTAssertFalse(after.quiet)
    }
}

final class ObserverRestartTests: XCTestCase {
    /// Host 4 restarted at each step of add-observer, catch-up and promote comes back in the role
    /// its own data gives it, including when its latest snapshot predates the entry that added
    /// it (the leader's snapshots here are all taken before the observer is added).
    func testObserverRestartedAtEveryStepComesBackInItsRole() async throws {
        let cluster = TestCluster { configuration in
            // Host 4 takes no snapshot of its own: its latest stays the one it received.
            configuration.snapshotEveryEntries = configuration.nodeID == ReplicaID(4) ? 1_000_000 : 20
            configuration.compactionKeepEntries = 5
        }
        try cluster.bootstrap(voters: [1, 2, 3], shards: [1])
        for number in 0..<50 { try await cluster.put(1, "key-\(number)", "\(number)") }
        let four = ReplicaID(4)
        try cluster.start(four)
        cluster.network.partition([[four], [ReplicaID(1), ReplicaID(2), ReplicaID(3)]])
        let leader = try cluster.leader(of: 1)
        // A snapshot now, so the next one is not due before host 4 has caught up: the one it
        // receives then predates the add-observer entry.
        _ = try await leader.snapshot(ShardID(1)).get()
        let lastBeforeAdd = try await leader.status(ShardID(1)).get().last
        try await leader.addObserver(ShardID(1), node: four, address: "host-4").get()

        // Step 1: added, but nothing has reached it yet.
        cluster.crash(four)
        try cluster.start(four)
        XCTAssertNil(cluster.hosts[four]!.role(in: ShardID(1)), "no replica before the leader reaches it")

        // Step 2: caught up from a snapshot older than the entry that added it, then the tail.
        cluster.network.heal()
        let commit = try await leader.status(ShardID(1)).get().commit
        try await cluster.waitUntilAsync("host 4 to catch up") {
            ((try? await cluster.hosts[four]!.status(ShardID(1)).get())?.applied ?? .zero) >= commit
        }
        let caughtUp = try await cluster.hosts[four]!.status(ShardID(1)).get()
        XCTAssertEqual(caughtUp.role, .observer)
        XCTAssertLessThanOrEqual(caughtUp.snapshot, lastBeforeAdd, "its snapshot predates the add-observer entry")
        cluster.crash(four)
        try cluster.start(four)
        try cluster.waitUntil("host 4 back as observer") { cluster.hosts[four]!.role(in: ShardID(1)) == .observer }
        let stale = try await cluster.hosts[four]!.staleRead(ShardID(1), key: Array("key-49".utf8)).get()
        XCTAssertEqual(text(stale), "49")

        // Step 3: promoted; restarted, it is a voter.
        try await cluster.waitUntilAsync("promotion") {
            if case .success = await leader.promote(ShardID(1), node: four) { return true }
            return false
        }
        try cluster.waitUntil("host 4 a voter") { cluster.hosts[four]!.role(in: ShardID(1)) == .follower }
        cluster.crash(four)
        try cluster.start(four)
        try cluster.waitUntil("host 4 back as voter") {
            let role = cluster.hosts[four]!.role(in: ShardID(1))
            return role == .follower || role == .leader
        }
        try await cluster.put(1, "after", "restart")
    }
}

final class LossyNetworkTests: XCTestCase {
    /// With a tenth of all messages lost, writes still commit and every host reads them back
    /// linearizably (Raft retries; the leader probes and re-sends).
    func testWritesAndReadsThroughALossyNetwork() async throws {
        let cluster = TestCluster()
        try cluster.bootstrap(voters: [1, 2, 3], shards: [1, 2, 3])
        for shard in [1, 2, 3] as [UInt64] { _ = try cluster.leader(of: shard) }
        cluster.network.setDropProbability(0.1)
        for shard in [1, 2, 3] as [UInt64] {
            for number in 0..<20 { try await cluster.put(shard, "key-\(number)", "\(number)", timeoutSeconds: 30) }
        }
        for shard in [1, 2, 3] as [UInt64] {
            for host in cluster.hosts.values {
                var value: [UInt8]?
                try await cluster.waitUntilAsync("a linearizable read through a lossy network", timeoutSeconds: 30) {
                    guard case .success(let read) = await host.read(ShardID(shard), key: Array("key-19".utf8)) else { return false }
                    value = read
                    return true
                }
                XCTAssertEqual(text(value), "19")
            }
        }
    }
}
