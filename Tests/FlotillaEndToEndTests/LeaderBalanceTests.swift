import Foundation
import XCTest

/// Issue 14, leader balance and `--auto-rebalance`: once a grown cluster's replicas have moved,
/// the meta shard's leader spreads the shards' leaders over the hosts; a host killed loses its
/// leaders to elections and gets its share back when it returns. With `--auto-rebalance`, an
/// `ADD-HOST` alone gives the new host its replicas.
final class LeaderBalanceTests: EndToEndTestCase {
    let shards = 12

    func testLeadersSpreadAfterGrowthAndComeBackAfterARestart() throws {
        var hosts = try startCluster(nodes: [1, 2, 3], shards: shards)
        hosts += try joinHosts([4], seeds: hosts)
        _ = try callUntil(hosts[0], "REBALANCE") { $0.hasPrefix("OK ") }
        let moved = try waitUntilMoved(via: hosts[0], timeout: 180)
        try check((8...10).contains(moved.replicas[4] ?? 0), "host 4 holds its share of 36 replicas: \(moved.line)")

        // 12 shards on 4 hosts: 3 leaders each, within one.
        func even(_ placement: PlacementLine, _ nodes: ClosedRange<Int>) -> Bool {
            nodes.allSatisfy { (2...4).contains(placement.leaders[$0] ?? 0) }
        }
        let balanced = try waitForPlacement("every host leads 2 to 4 of the 12 shards", via: hosts[0], timeout: 60) { even($0, 1...4) }
        print("leaders after growth: \(balanced.line)")
        _ = try callUntil(hosts[0], "REBALANCE", timeout: 30) { $0 == "OK 0" }

        // Host 4 (never a meta shard voter: those are creation members) is killed: its shards
        // elect other leaders.
        hosts[3].kill9()
        let without = try waitForPlacement("no shard is led by the killed host", via: hosts[0], timeout: 60) { placement in
            let live = (1...3).map { placement.leaders[$0] ?? 0 }.reduce(0, +)
            return (placement.leaders[4] ?? 0) == 0 && live == self.shards
        }
        print("leaders while host 4 is down: \(without.line)")

        try hosts[3].start()
        let back = try waitForPlacement("host 4 leads its share again", via: hosts[0], timeout: 90) { even($0, 1...4) }
        print("leaders after host 4 came back: \(back.line)")
        let transfers = hosts.map { $0.log().components(separatedBy: "leader balance: leadership moved").count - 1 }.reduce(0, +)
        try check(transfers >= 2, "the balancer moved leaders back to host 4 (transfers logged: \(transfers))")
    }

    func testAutoRebalanceGivesAnAddedHostItsShare() throws {
        var hosts = try startCluster(nodes: [1, 2, 3], shards: shards, extra: ["--auto-rebalance"])
        hosts += try joinHosts([4], seeds: hosts, extra: ["--auto-rebalance"])
        // No REBALANCE: the host list changed, so the meta shard's leader plans by itself.
        let grown = try waitForPlacement("host 4 holds its share without REBALANCE", via: hosts[0], timeout: 180) {
            $0.movesPending == 0 && (8...10).contains($0.replicas[4] ?? 0)
        }
        print("after ADD-HOST with --auto-rebalance: \(grown.line)")
        _ = try checkVoters(via: hosts, live: Set(1...4), shards: shards)
        let planned = hosts.map { $0.log().contains("auto-rebalance: the host list changed") }
        try check(planned.contains(true), "a host logged its automatic plan")
    }
}
