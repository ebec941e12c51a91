import FlotillaObservability
import FlotillaRaft
import XCTest

/// The /health rule: healthy only when every shard held here knows a leader.
final class HealthReportTests: XCTestCase {
    func testEveryShardWithALeaderIsHealthy() {
        let report = HealthReport(shards: [(ShardID(1), .leader, ReplicaID(1)), (ShardID(2), .follower, ReplicaID(3)),
                                           (ShardID(3), .observer, ReplicaID(2))])
        XCTAssertTrue(report.isHealthy)
        XCTAssertEqual(report.statusCode, 200)
        XCTAssertEqual(report.body, "ok\n")
    }

    func testShardsWithoutALeaderAreNamedInOrder() {
        let report = HealthReport(shards: [(ShardID(7), .candidate, ReplicaID.none), (ShardID(1), .leader, ReplicaID(1)),
                                           (ShardID(3), .follower, ReplicaID.none)])
        XCTAssertFalse(report.isHealthy)
        XCTAssertEqual(report.statusCode, 503)
        XCTAssertEqual(report.shardsWithoutLeader, [ShardID(3), ShardID(7)])
        XCTAssertEqual(report.body, "no leader: shard 3, shard 7\n")
    }

    func testARemovedReplicaAndAnEmptyHostDoNotMakeItUnhealthy() {
        XCTAssertTrue(HealthReport(shards: [(ShardID(2), .removed, ReplicaID.none)]).isHealthy)
        XCTAssertTrue(HealthReport(shards: []).isHealthy)
    }
}
