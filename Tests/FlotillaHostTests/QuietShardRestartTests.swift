import FlotillaHost
import FlotillaRaft
import Foundation
import XCTest

/// An observer that restarts while its shard is quiet (idle, no heartbeats) has lost its commit
/// index, which is never written on its own, knows no leader, and never campaigns (which would
/// wake the shard, as a voter's pre-vote does). The leader wakes the shard when the observer's
/// connection comes back, so it learns the commit index and applies everything at once,
/// without waiting for the next write. (Seen first as an observer that never caught up after a
/// SIGKILL in the end-to-end kill-point test.)
final class QuietShardRestartTests: XCTestCase {
    func testAnObserverRestartedOnAQuietShardCatchesUpWithoutNewWrites() async throws {
        let cluster = TestCluster { configuration in
            configuration.quiesceAfterTicks = 20
        }
        try cluster.bootstrap(voters: [1, 2, 3], shards: [1])
        let observer = ReplicaID(4)
        try cluster.start(observer)
        let leader = try cluster.leader(of: 1)
        try await leader.addObserver(ShardID(1), node: observer, address: "host-4").get()
        for number in 0..<50 { try await cluster.put(1, "key-\(number)", "value-\(number)") }
        let commit = try await leader.status(ShardID(1)).get().commit
        try await cluster.waitUntilAsync("the observer applied every write") {
            ((try? await cluster.hosts[observer]!.status(ShardID(1)).get())?.applied ?? .zero) >= commit
        }
        try await cluster.waitUntilAsync("the leader fell quiet") {
            (try? await leader.status(ShardID(1)).get())?.quiet == true
        }
        cluster.crash(observer)
        let restarted = try cluster.start(observer)
        try await cluster.waitUntilAsync("the restarted observer applies every write without a new one", timeoutSeconds: 5) {
            ((try? await restarted.status(ShardID(1)).get())?.applied ?? .zero) >= commit
        }
        XCTAssertEqual(restarted.role(in: ShardID(1)), .observer)
        let value = try await restarted.staleRead(ShardID(1), key: Array("key-49".utf8)).get()
        XCTAssertEqual(text(value), "value-49")
    }
}
