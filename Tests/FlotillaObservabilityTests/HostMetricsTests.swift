import FlotillaHost
import FlotillaObservability
import FlotillaRaft
import FlotillaServer
import XCTest

/// The registry's text after requests and a scrape: the SPEC's names, labels and values.
final class HostMetricsTests: XCTestCase {
    func status(shard: UInt64, role: RaftRole, commit: UInt64, lag: [ReplicaID: UInt64] = [:]) -> ShardStatus {
        var status = ShardStatus(shard: ShardID(shard), replica: ReplicaID(1), role: role, leader: ReplicaID(1), term: Term(3),
                                 commit: LogIndex(commit), applied: LogIndex(commit), last: LogIndex(commit), snapshot: .zero,
                                 membership: Membership(voters: [ReplicaID(1): "a", ReplicaID(2): "b"]), keys: 0, quiet: false)
        status.lagEntries = lag
        return status
    }

    func text(_ metrics: HostMetrics) -> String { String(decoding: metrics.render(), as: UTF8.self) }

    func testRequestsAreCountedByCommandAndResultAndTimed() {
        let metrics = HostMetrics()
        metrics.record(.put, .ok, nanoseconds: 300_000)
        metrics.record(.put, .ok, nanoseconds: 300_000)
        metrics.record(.get, .noLeader, nanoseconds: 20_000_000)
        let output = text(metrics)
        XCTAssertTrue(output.contains(#"flotilla_requests_total{command="put",result="ok"} 2"#), output)
        XCTAssertTrue(output.contains(#"flotilla_requests_total{command="get",result="no_leader"} 1"#))
        XCTAssertTrue(output.contains("flotilla_request_duration_seconds_count 3"))
        XCTAssertTrue(output.contains(#"flotilla_request_duration_seconds_bucket{le="0.0005"} 2"#))
        XCTAssertTrue(output.contains("# TYPE flotilla_request_duration_seconds histogram"))
    }

    func testAScrapeCopiesTheHostsCountersAndReplicaGauges() {
        let metrics = HostMetrics()
        var readings = HostCounterReadings()
        readings.electionsStarted = 4
        readings.transportBytesSent = 1_000
        readings.snapshotBytesReceived = 77
        metrics.refresh(counters: readings, statuses: [status(shard: 2, role: .leader, commit: 812, lag: [ReplicaID(2): 5])])
        readings.electionsStarted = 6
        metrics.refresh(counters: readings, statuses: [status(shard: 2, role: .leader, commit: 900, lag: [ReplicaID(2): 0])])
        let output = text(metrics)
        XCTAssertTrue(output.contains("flotilla_elections_total 6"), output)
        XCTAssertTrue(output.contains(#"flotilla_transport_bytes_total{direction="out"} 1000"#))
        XCTAssertTrue(output.contains(#"flotilla_snapshot_bytes_total{direction="in"} 77"#))
        XCTAssertTrue(output.contains(#"flotilla_replica_role{shard="2",replica="1"} 3"#))
        XCTAssertTrue(output.contains(#"flotilla_replica_commit_index{shard="2",replica="1"} 900"#))
        XCTAssertTrue(output.contains(#"flotilla_replica_lag_entries{shard="2",replica="2"} 0"#))
    }

    func testAShardNoLongerLedHereStopsReportingLag() {
        let metrics = HostMetrics()
        metrics.refresh(counters: HostCounterReadings(), statuses: [status(shard: 1, role: .leader, commit: 5, lag: [ReplicaID(2): 1])])
        XCTAssertTrue(text(metrics).contains(#"flotilla_replica_lag_entries{shard="1",replica="2"}"#))
        metrics.refresh(counters: HostCounterReadings(), statuses: [status(shard: 1, role: .follower, commit: 5)])
        XCTAssertFalse(text(metrics).contains(#"flotilla_replica_lag_entries{shard="1",replica="2"}"#))
        XCTAssertTrue(text(metrics).contains(#"flotilla_replica_role{shard="1",replica="1"} 0"#))
    }
}
