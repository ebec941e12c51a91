import FlotillaPlacement
import FlotillaRaft
import XCTest

/// The `PLACEMENT` line: counted from shards' members and leaders, rendered in node id order,
/// read back by tools.
final class PlacementReportTests: XCTestCase {
    func testCountsMembersAndLeadersAndRendersInNodeOrder() {
        var report = PlacementReport(hosts: [ReplicaID(3), ReplicaID(1), ReplicaID(2), ReplicaID(4)], replicaCount: 3)
        report.count(voters: [ReplicaID(1), ReplicaID(2), ReplicaID(3)], observers: [], leader: ReplicaID(2))
        report.count(voters: [ReplicaID(1), ReplicaID(3)], observers: [ReplicaID(5)], leader: .none)
        XCTAssertEqual(report.line, "hosts=5 replicas=3 moves_pending=0 1:replicas=2,leaders=0 2:replicas=1,leaders=1 "
                       + "3:replicas=2,leaders=0 4:replicas=0,leaders=0 5:replicas=1,leaders=0")
        XCTAssertEqual(report.totalReplicas, 6)
        XCTAssertEqual(PlacementReport(line: report.line), report)
    }

    func testRefusesWhatIsNotAPlacementLine() {
        XCTAssertNil(PlacementReport(line: "ERR NO_LEADER shard 3"))
        XCTAssertNil(PlacementReport(line: "hosts=2 replicas=3 moves_pending=0 1:replicas=1,leaders=0"), "fewer hosts than it says")
        XCTAssertNil(PlacementReport(line: "hosts=1 replicas=3 moves_pending=0 1:replicas=x,leaders=0"))
        XCTAssertNotNil(PlacementReport(line: "hosts=0 replicas=1 moves_pending=0"))
    }
}
