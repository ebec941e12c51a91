import FlotillaPlacement
import FlotillaRaft
import XCTest

/// Leader balance's decisions: leaders end within one of the mean over the hosts that may lead,
/// with no more transfers than the spread needs; a balanced cluster is left alone; a host back
/// from an outage takes its share again; targets that lag or are unknown, shards held (moving or
/// backing off) and shards without a leader are left alone; a pass is bounded.
final class LeaderBalancePlannerTests: XCTestCase {
    /// Shards placed by the creation rule on `hosts` hosts, each led by its first voter.
    func placed(shards: UInt64, hosts: UInt64, lag: UInt64 = 0) -> [ShardID: ShardMembership] {
        let placement = RendezvousPlacement(members: (1...hosts).map { ReplicaID($0) }, replicaCount: 3, shardCount: shards)
        var memberships: [ShardID: ShardMembership] = [:]
        for number in 1...shards {
            let voters = placement.voters(of: ShardID(number))
            memberships[ShardID(number)] = ShardMembership(voters: voters, leader: voters[0],
                                                           lagEntries: Dictionary(uniqueKeysWithValues: voters.dropFirst().map { ($0, lag) }))
        }
        return memberships
    }

    func apply(_ transfers: [LeaderTransfer], to memberships: inout [ShardID: ShardMembership]) {
        for transfer in transfers {
            var membership = memberships[transfer.shard]!
            XCTAssertEqual(membership.leader, transfer.from, "\(transfer): from the leader")
            XCTAssertTrue(membership.voters.contains(transfer.to), "\(transfer): to a voter")
            var lag = membership.lagEntries
            lag[transfer.to] = nil
            lag[transfer.from] = 0
            membership.leader = transfer.to
            membership.lagEntries = lag
            memberships[transfer.shard] = membership
        }
    }

    func eligible(_ nodes: ClosedRange<UInt64>) -> Set<ReplicaID> { Set(nodes.map { ReplicaID($0) }) }

    /// Runs passes of `limit` until nothing is wanted; answers the transfers made.
    func balance(_ memberships: inout [ShardID: ShardMembership], eligible: Set<ReplicaID>, limit: Int = 4) -> Int {
        var made = 0
        for _ in 0..<1_000 {
            let transfers = LeaderBalancePlanner.plan(memberships: memberships, eligible: eligible, targetLagEntriesMax: 64, limit: limit)
            XCTAssertLessThanOrEqual(transfers.count, limit, "a pass is bounded")
            if transfers.isEmpty { return made }
            made += transfers.count
            apply(transfers, to: &memberships)
        }
        XCTFail("leader balance never settled")
        return made
    }

    func testLeadersSpreadWithinOneOfTheMeanAndThenStayPut() {
        var memberships = placed(shards: 64, hosts: 6)
        let before = LeaderBalancePlanner.leaderCounts(memberships: memberships, eligible: eligible(1...6))
        let made = balance(&memberships, eligible: eligible(1...6))
        let counts = LeaderBalancePlanner.leaderCounts(memberships: memberships, eligible: eligible(1...6))
        XCTAssertEqual(counts.values.reduce(0, +), 64)
        for (node, count) in counts { XCTAssertTrue((10...12).contains(count), "host \(node) leads \(count) of 64: \(counts)") }
        // No more transfers than the excess over the ceiling of the mean, plus a few for chains.
        let excess = before.values.map { max(0, $0 - 11) }.reduce(0, +)
        XCTAssertLessThanOrEqual(made, excess + 8, "transfers made \(made), excess leaders before \(excess): \(before)")
        XCTAssertEqual(LeaderBalancePlanner.plan(memberships: memberships, eligible: eligible(1...6), targetLagEntriesMax: 64, limit: 100), [],
                       "balanced: nothing more to transfer")
    }

    func testAHostBackFromAnOutageTakesItsShareAgain() {
        var memberships = placed(shards: 64, hosts: 6)
        _ = balance(&memberships, eligible: eligible(1...6))
        // Host 6 goes down: its shards elect other voters (here: the first other voter).
        for (shard, membership) in memberships where membership.leader == ReplicaID(6) {
            memberships[shard]!.leader = membership.voters.first { $0 != ReplicaID(6) }!
            memberships[shard]!.lagEntries = Dictionary(uniqueKeysWithValues: membership.voters.filter { $0 != memberships[shard]!.leader }.map { ($0, 0) })
        }
        let whileDown = eligible(1...5)
        _ = balance(&memberships, eligible: whileDown)
        XCTAssertEqual(LeaderBalancePlanner.leaderCounts(memberships: memberships, eligible: eligible(1...6))[ReplicaID(6)], 0,
                       "never a transfer to a host that does not answer")
        for (node, count) in LeaderBalancePlanner.leaderCounts(memberships: memberships, eligible: whileDown) {
            XCTAssertTrue((11...15).contains(count), "host \(node) leads \(count) of 64 while host 6 is down")
        }
        // Back: host 6 takes its share, taken from the hosts leading the most.
        let made = balance(&memberships, eligible: eligible(1...6))
        let counts = LeaderBalancePlanner.leaderCounts(memberships: memberships, eligible: eligible(1...6))
        for (node, count) in counts { XCTAssertTrue((10...12).contains(count), "host \(node) leads \(count) of 64 after host 6 came back: \(counts)") }
        XCTAssertLessThanOrEqual(made, counts[ReplicaID(6)]! + 6, "about as many transfers as host 6's share")
    }

    func testTargetsThatLagOrAreUnknownAreSkipped() {
        let voters = [ReplicaID(1), ReplicaID(2), ReplicaID(3)]
        // Three shards all led by host 1: balance wants two of them elsewhere.
        func memberships(lag: [ReplicaID: UInt64]) -> [ShardID: ShardMembership] {
            Dictionary(uniqueKeysWithValues: (1...3).map { (ShardID(UInt64($0)), ShardMembership(voters: voters, leader: ReplicaID(1), lagEntries: lag)) })
        }
        let hosts = eligible(1...3)
        let close = LeaderBalancePlanner.plan(memberships: memberships(lag: [ReplicaID(2): 3, ReplicaID(3): 0]), eligible: hosts,
                                              targetLagEntriesMax: 64, limit: 10)
        XCTAssertEqual(close.count, 2, "\(close)")
        XCTAssertEqual(Set(close.map(\.to)), [ReplicaID(2), ReplicaID(3)])
        let lagging = LeaderBalancePlanner.plan(memberships: memberships(lag: [ReplicaID(2): 500, ReplicaID(3): 500]), eligible: hosts,
                                                targetLagEntriesMax: 64, limit: 10)
        XCTAssertEqual(lagging, [], "targets 500 entries behind")
        let unknown = LeaderBalancePlanner.plan(memberships: memberships(lag: [:]), eligible: hosts, targetLagEntriesMax: 64, limit: 10)
        XCTAssertEqual(unknown, [], "no lag report (a follower's status)")
        let unchecked = LeaderBalancePlanner.plan(memberships: memberships(lag: [:]), eligible: hosts, targetLagEntriesMax: nil, limit: 10)
        XCTAssertEqual(unchecked.count, 2, "lag not checked: \(unchecked)")
    }

    func testHeldShardsAndShardsWithoutALeaderStay() {
        let voters = [ReplicaID(1), ReplicaID(2), ReplicaID(3)]
        let lag: [ReplicaID: UInt64] = [ReplicaID(1): 0, ReplicaID(2): 0, ReplicaID(3): 0]
        var memberships: [ShardID: ShardMembership] = [:]
        for number in UInt64(1)...6 { memberships[ShardID(number)] = ShardMembership(voters: voters, leader: ReplicaID(1), lagEntries: lag) }
        memberships[ShardID(7)] = ShardMembership(voters: voters, leader: .none, lagEntries: lag)
        let held: Set<ShardID> = [ShardID(1), ShardID(2), ShardID(3)]
        let transfers = LeaderBalancePlanner.plan(memberships: memberships, eligible: eligible(1...3), held: held,
                                                  targetLagEntriesMax: 64, limit: 10)
        XCTAssertFalse(transfers.contains { held.contains($0.shard) }, "held shards keep their leader: \(transfers)")
        XCTAssertFalse(transfers.contains { $0.shard == ShardID(7) }, "a shard in an election is left to it")
        // The held shards still count toward host 1: so all three others move off it.
        XCTAssertEqual(transfers.map(\.shard), [ShardID(4), ShardID(5), ShardID(6)], "\(transfers)")
    }

    func testALeaderOnAHostThatMayNotLeadMovesAndAPassIsBounded() {
        var memberships = placed(shards: 16, hosts: 3)
        // Host 4 leads every shard it is a voter of after a drain began: it is not eligible.
        for number in UInt64(1)...16 {
            memberships[ShardID(number)]!.voters = [ReplicaID(1), ReplicaID(2), ReplicaID(4)]
            memberships[ShardID(number)]!.leader = ReplicaID(4)
            memberships[ShardID(number)]!.lagEntries = [ReplicaID(1): 0, ReplicaID(2): 0]
        }
        let first = LeaderBalancePlanner.plan(memberships: memberships, eligible: eligible(1...3), targetLagEntriesMax: 64, limit: 5)
        XCTAssertEqual(first.map(\.shard), (1...5).map { ShardID(UInt64($0)) }, "lowest shards first, five at most")
        XCTAssertTrue(first.allSatisfy { $0.to == ReplicaID(1) || $0.to == ReplicaID(2) })
        _ = balance(&memberships, eligible: eligible(1...3))
        let counts = LeaderBalancePlanner.leaderCounts(memberships: memberships, eligible: eligible(1...3))
        XCTAssertEqual(counts[ReplicaID(1)], 8)
        XCTAssertEqual(counts[ReplicaID(2)], 8)
    }
}
