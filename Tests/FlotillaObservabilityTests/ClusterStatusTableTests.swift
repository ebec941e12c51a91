import FlotillaObservability
import XCTest

/// `flotilla status`: rows from STATUS lines, lag from the leader's line, the shards without a
/// leader, and the text layout.
final class ClusterStatusTableTests: XCTestCase {
    typealias Answer = ClusterStatusTable.Answer

    func member(_ node: UInt64, _ answer: Answer) -> (node: UInt64, answer: Answer) { (node, answer) }

    static let leaderLine = "shard=1 replica=1 role=leader leader=1 term=4 commit=812 applied=812 last=815 snapshot=500 voters=1,2 observers=3 keys=9 quiet=false lag=2:3,3:15 shards=2"
    static let followerLine = "shard=1 replica=2 role=follower leader=1 term=4 commit=812 applied=810 last=812 snapshot=500 voters=1,2 observers=3 keys=9 quiet=false lag= shards=2"

    func testRowsCarryEachReplicasOwnViewAndTheLeadersLag() {
        let table = ClusterStatusTable(shards: [
            .init(shard: 1, overview: Answer(line: Self.followerLine), replicas: [
                member(1, Answer(line: Self.leaderLine)), member(2, Answer(line: Self.followerLine)),
                member(3, Answer(line: "ERR NO_LEADER node 3 is not reachable from here")),
            ]),
        ])
        XCTAssertEqual(table.rows.map(\ClusterStatusTable.Row.replica), ["1", "2", "3"])
        XCTAssertEqual(table.rows.map(\ClusterStatusTable.Row.role), ["leader", "follower", "unreachable"])
        XCTAssertEqual(table.rows.map(\ClusterStatusTable.Row.lag), ["0", "3", "15"], "lag comes from the leader's progress, the leader itself is 0")
        XCTAssertEqual(table.rows[1].applied, "810")
        XCTAssertEqual(table.rows[2].quiet, "NO_LEADER", "an unreachable replica says why, briefly")
        XCTAssertEqual(table.shardsWithoutLeader, [])
    }

    func testAShardWhoseLeaderIsUnknownOrUnreachableIsReported() {
        let leaderless = "shard=2 replica=1 role=pre-candidate leader=0 term=5 commit=9 applied=9 last=9 snapshot=0 voters=1,2 observers= keys=0 quiet=false lag= shards=2"
        let table = ClusterStatusTable(shards: [
            .init(shard: 1, overview: Answer(line: Self.leaderLine), replicas: [member(1, Answer(line: Self.leaderLine))]),
            .init(shard: 2, overview: Answer(line: leaderless), replicas: [member(1, Answer(line: leaderless)), member(2, Answer(line: nil))]),
            .init(shard: 3, overview: Answer(line: "ERR TIMEOUT no answer"), replicas: []),
        ])
        XCTAssertEqual(table.shardsWithoutLeader, [2, 3])
        XCTAssertEqual(table.rows.last?.role, "unreachable")
        XCTAssertEqual(table.rows.last?.shard, "3")
    }

    func testMembersAreVotersThenObservers() {
        XCTAssertEqual(ClusterStatusTable.members(of: Answer.parse(Self.leaderLine)), [1, 2, 3])
        XCTAssertEqual(ClusterStatusTable.members(of: ["voters": "3,1", "observers": ""]), [3, 1])
    }

    func testRenderedColumnsAreAlignedUnderTheHeader() {
        let table = ClusterStatusTable(shards: [
            .init(shard: 1, overview: Answer(line: Self.leaderLine), replicas: [member(1, Answer(line: Self.leaderLine)), member(2, Answer(line: Self.followerLine))]),
        ])
        let lines = table.rendered().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 6, "rule, header, rule, two rows, rule")
        XCTAssertEqual(lines[1], "| SHARD | REPLICA | ROLE     | LEADER | TERM | COMMIT | APPLIED | LAG | QUIET |")
        XCTAssertEqual(lines[3], "| 1     | 1       | leader   | 1      | 4    | 812    | 812     | 0   | false |")
        XCTAssertEqual(lines[4], "| 1     | 2       | follower | 1      | 4    | 812    | 810     | 3   | false |")
        XCTAssertEqual(Set(lines.map(\.count)).count, 1, "every line is as wide as the header")
    }
}
