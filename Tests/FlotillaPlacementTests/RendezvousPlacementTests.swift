import FlotillaPlacement
import FlotillaRaft
import XCTest

/// The placement rule: deterministic, capped at the members, and as good as rendezvous hashing
/// promises at the scale of a large cluster (the model of 100 hosts and 10,000 shards).
final class RendezvousPlacementTests: XCTestCase {
    func nodes(_ ids: [UInt64]) -> [ReplicaID] { ids.map { ReplicaID($0) } }

    func testThreeOrFewerMembersPlaceEveryMemberOnEveryShard() {
        for count in 1...3 {
            let members = nodes(Array(1...UInt64(count)))
            let placement = RendezvousPlacement(members: members, replicaCount: 3, shardCount: 1_000)
            XCTAssertTrue(placement.placesEveryMemberEverywhere)
            for shard in 1...64 {
                XCTAssertEqual(Set(placement.voters(of: ShardID(UInt64(shard)))), Set(members), "shard \(shard) of \(count) members")
            }
        }
    }

    func testVotersAreDistinctMembersAndIndependentOfTheOrderMembersAreGivenIn() {
        let members = nodes([7, 3, 11, 5, 2])
        let placement = RendezvousPlacement(members: members, replicaCount: 3, shardCount: 1_000)
        let reordered = RendezvousPlacement(members: members.reversed(), replicaCount: 3, shardCount: 1_000)
        for number in 1...200 {
            let shard = ShardID(UInt64(number))
            let voters = placement.voters(of: shard)
            XCTAssertEqual(voters.count, 3)
            XCTAssertEqual(Set(voters).count, 3)
            XCTAssertTrue(Set(voters).isSubset(of: Set(members)))
            XCTAssertEqual(voters, reordered.voters(of: shard))
            XCTAssertEqual(placement.preferredLeader(of: shard), voters.first)
            let ranking = placement.ranking(of: shard)
            XCTAssertEqual(voters, ranking.filter(voters.contains), "voters in rendezvous order")
        }
    }

    /// The weights are part of the on-disk contract of a new cluster (every host must compute
    /// the same voters, whatever version booted it): fixed values pin them.
    func testWeightsAreFixed() {
        let placement = RendezvousPlacement(members: nodes([1, 2, 3, 4, 5]), replicaCount: 3, shardCount: 16)
        let pinned = (1...4).map { placement.voters(of: ShardID(UInt64($0))).map(\.rawValue) }
        XCTAssertEqual(pinned, Self.pinnedVoters, "the placement of shards 1...4 over 5 hosts changed: \(pinned)")
    }

    static let pinnedVoters: [[UInt64]] = [[1, 4, 2], [1, 4, 3], [1, 5, 3], [5, 1, 2]]

    func testFiveHostsSixteenShardsSpreadWithinFloorAndCeilingBounds() {
        let placement = RendezvousPlacement(members: nodes([1, 2, 3, 4, 5]), replicaCount: 3, shardCount: 16)
        var counts: [ReplicaID: Int] = [:]
        for shard in 1...16 { for node in placement.voters(of: ShardID(UInt64(shard))) { counts[node, default: 0] += 1 } }
        XCTAssertEqual(counts.values.reduce(0, +), 48)
        for (node, count) in counts { XCTAssertTrue((7...12).contains(count), "node \(node) holds \(count) of 48") }
    }

    /// Beyond the bounded passes, placement is rendezvous hashing: most shards keep their
    /// highest-ranked members, and no shard is short of voters.
    func testMostShardsTakeTheirHighestRankedMembers() {
        let placement = RendezvousPlacement(members: nodes(Array(1...20)), replicaCount: 3, shardCount: 2_000)
        var kept = 0
        for number in 1...2_000 {
            let shard = ShardID(UInt64(number))
            XCTAssertEqual(Set(placement.voters(of: shard)).count, 3)
            if Set(placement.voters(of: shard)) == Set(placement.ranking(of: shard).prefix(3)) { kept += 1 }
        }
        XCTAssertGreaterThan(kept, 1_600, "shards placed on their top three")
        XCTAssertEqual(placement.voters(of: ShardID(0)), [])
        XCTAssertEqual(placement.voters(of: ShardID(2_001)), [])
    }

    func testLeaderAssignmentPicksAVoterAndEvensLeadersOut() {
        let placement = RendezvousPlacement(members: nodes(Array(1...10)), replicaCount: 3, shardCount: 1_000)
        var voters: [ShardID: [ReplicaID]] = [:]
        for number in 1...1_000 { voters[ShardID(UInt64(number))] = placement.voters(of: ShardID(UInt64(number))) }
        let assignment = LeaderAssignment(voters: voters)
        for (shard, leader) in assignment.leaders { XCTAssertTrue(voters[shard]!.contains(leader)) }
        let spread = Spread(counts: Array(assignment.leaderCounts.values))
        XCTAssertLessThanOrEqual(spread.maximum - spread.minimum, 2, "\(spread)")
    }

    /// The model of the issue: 100 hosts × 10,000 shards × 3 replicas. Replicas spread within
    /// ±15% of the mean, leaders (balanced) within ±5%, and a host added or removed moves at
    /// most 1.5 × the least it could.
    func testModelOfAHundredHostsAndTenThousandShards() {
        let report = PlacementModel(hostCount: 100, shardCount: 10_000, replicaCount: 3).run()
        print(report)
        XCTAssertEqual(report.replicas.mean, 300)
        XCTAssertLessThanOrEqual(report.replicas.relativeDeviationMax, 0.15, "\(report.replicas)")
        XCTAssertLessThanOrEqual(report.balancedLeaders.relativeDeviationMax, 0.05, "\(report.balancedLeaders)")
        XCTAssertLessThanOrEqual(Double(report.movedOnAdd), 1.5 * report.minimumOnAdd)
        XCTAssertLessThanOrEqual(Double(report.movedOnRemove), 1.5 * report.minimumOnRemove)
        // And no fewer than the least possible: the added host takes its share, the removed one's is rehoused.
        XCTAssertGreaterThanOrEqual(Double(report.movedOnRemove), report.minimumOnRemove * 0.85)
    }
}
