import FlotillaPlacement
import FlotillaRaft
import XCTest

/// The rebalance plan: fewest moves within the load bounds, at most one per shard when it can,
/// never onto a host the shard removed, every replica off a draining host, the meta shard only
/// off hosts that leave; and the cluster map's text form.
final class RebalancePlannerTests: XCTestCase {
    let meta = ShardID(0)

    func map(_ states: [UInt64: HostState], moves: [ReplicaMove] = []) -> ClusterMap {
        ClusterMap(replicaCount: 3, hosts: Dictionary(uniqueKeysWithValues: states.map {
            (ReplicaID($0.key), ClusterHost(address: "127.0.0.1:\(7100 + $0.key)", state: $0.value))
        }), moves: moves)
    }

    /// Every shard on hosts 1, 2, 3, and the meta shard too.
    func threeHostMemberships(shards: UInt64) -> [ShardID: ShardMembership] {
        var memberships: [ShardID: ShardMembership] = [:]
        for number in 0...shards { memberships[ShardID(number)] = ShardMembership(voters: [ReplicaID(1), ReplicaID(2), ReplicaID(3)], leader: ReplicaID(1)) }
        return memberships
    }

    /// The memberships once the moves are carried out, checking each as it goes.
    func apply(_ moves: [ReplicaMove], to memberships: inout [ShardID: ShardMembership]) {
        for move in moves {
            var membership = memberships[move.shard]!
            XCTAssertTrue(membership.voters.contains(move.from), "\(move): from a voter")
            XCTAssertFalse(membership.voters.contains(move.to), "\(move): to a host not yet a voter")
            XCTAssertFalse(membership.removed.contains(move.to), "\(move): never to a host the shard removed")
            membership.voters = membership.voters.map { $0 == move.from ? move.to : $0 }
            membership.removed.insert(move.from)
            memberships[move.shard] = membership
        }
    }

    func loads(_ memberships: [ShardID: ShardMembership]) -> [ReplicaID: Int] {
        var loads: [ReplicaID: Int] = [:]
        for (shard, membership) in memberships where shard != meta {
            for node in membership.voters { loads[node, default: 0] += 1 }
        }
        return loads
    }

    func testGrowingMovesOneReplicaPerShardWithinTheBounds() {
        var memberships = threeHostMemberships(shards: 16)
        let grown = map([1: .active, 2: .active, 3: .active, 4: .active, 5: .active])
        let moves = RebalancePlanner.plan(map: grown, memberships: memberships, shardCount: 16, metaShard: meta, metaReplicaCount: 3)
        XCTAssertEqual(moves.count, 16, "\(moves)")
        XCTAssertEqual(Set(moves.map(\.shard)).count, 16, "one move per shard")
        XCTAssertFalse(moves.contains { $0.shard == meta }, "the meta shard stays while its hosts do")
        apply(moves, to: &memberships)
        for (node, load) in loads(memberships) { XCTAssertTrue((8...11).contains(load), "host \(node) holds \(load)") }
        XCTAssertEqual(RebalancePlanner.plan(map: grown, memberships: memberships, shardCount: 16, metaShard: meta, metaReplicaCount: 3), [],
                       "balanced: nothing more to move")

        // Draining host 2 afterwards: every replica of it moves, to a host each shard may take.
        var draining = grown
        draining.hosts[ReplicaID(2)]!.state = .draining
        let drainMoves = RebalancePlanner.plan(map: draining, memberships: memberships, shardCount: 16, metaShard: meta, metaReplicaCount: 3)
        let held = memberships.filter { $0.value.voters.contains(ReplicaID(2)) }.count
        XCTAssertGreaterThanOrEqual(drainMoves.count, held, "a move per replica of host 2 (the meta shard's included)")
        apply(drainMoves, to: &memberships)
        for (shard, membership) in memberships {
            XCTAssertEqual(membership.voters.count, 3, "shard \(shard) keeps three voters")
            XCTAssertFalse(membership.voters.contains(ReplicaID(2)), "shard \(shard) is off host 2")
        }
    }

    func testShardsWithMovesUnderWayAreLeftAlone() {
        let memberships = threeHostMemberships(shards: 4)
        let underWay = ReplicaMove(shard: ShardID(2), from: ReplicaID(1), to: ReplicaID(4), step: .promoting)
        let moves = RebalancePlanner.plan(map: map([1: .active, 2: .active, 3: .active, 4: .active], moves: [underWay]),
                                          memberships: memberships, shardCount: 4, metaShard: meta, metaReplicaCount: 3)
        XCTAssertFalse(moves.contains { $0.shard == ShardID(2) }, "\(moves)")
        XCTAssertFalse(moves.isEmpty)
    }

    func testTooFewHostsKeepsTheReplica() {
        // Three hosts, one draining: nowhere to go that keeps three voters.
        let memberships = threeHostMemberships(shards: 4)
        let moves = RebalancePlanner.plan(map: map([1: .active, 2: .draining, 3: .active]), memberships: memberships,
                                          shardCount: 4, metaShard: meta, metaReplicaCount: 3)
        XCTAssertEqual(moves, [])
    }

    func testClusterMapTextRoundTrips() {
        let original = map([1: .active, 2: .draining, 7: .removed],
                           moves: [ReplicaMove(shard: ShardID(3), from: ReplicaID(1), to: ReplicaID(7), step: .adding),
                                   ReplicaMove(shard: ShardID(0), from: ReplicaID(2), to: .none)])
        XCTAssertEqual(ClusterMap(text: original.text), original)
        XCTAssertEqual(original.activeHosts, [ReplicaID(1)])
        XCTAssertEqual(original.listedHosts, [ReplicaID(1), ReplicaID(2)])
        XCTAssertNil(ClusterMap(text: "host 1 a:1 active"), "no replica count")
        XCTAssertNil(ClusterMap(text: "replicas 3\nmove 1 2 3 flying"))
    }
}
