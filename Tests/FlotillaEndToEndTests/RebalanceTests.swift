import Foundation
import XCTest

/// Issue 14, phase 2: a cluster grows by `ADD-HOST` and `REBALANCE` (replicas move onto the new
/// hosts, one shard at a time, never below three voters) and shrinks by `DRAIN`; the moves are
/// recorded in the replicated cluster map, so killing the host that drives them mid-way only
/// delays them.
final class RebalanceTests: EndToEndTestCase {
    let shards = 16

    func testGrowToFiveHostsThenDrainOne() throws {
        var hosts = try startCluster(nodes: [1, 2, 3], shards: shards)
        var expected: [String: String] = [:]
        var pairs: [(key: String, value: String)] = []
        for shard in 1...shards {
            for key in keys(inShard: shard, shards: shards, prefix: "before-\(shard)", count: 3) { pairs.append((key, "v-\(key)")) }
        }
        try putAll(pairs, via: hosts[0])
        for pair in pairs { expected[pair.key] = pair.value }

        // Hosts 4 and 5 join empty; ADD-HOST puts them in the host list, holding nothing yet.
        hosts += try joinHosts([4, 5], seeds: hosts)
        let before = try placement(via: hosts[3])
        try checkEqual(before.hosts, 5, "hosts after ADD-HOST: \(before.line)")
        try checkEqual(before.replicas[4], 0, "host 4 holds nothing before REBALANCE: \(before.line)")
        try checkEqual(before.movesPending, 0, "nothing pending before REBALANCE: \(before.line)")

        let answer = try callUntil(hosts[1], "REBALANCE") { $0.hasPrefix("OK ") }
        let planned = Int(answer.dropFirst(3)) ?? 0
        try check(planned >= 10, "REBALANCE plans moves onto two new hosts: \(answer)")
        let grown = try waitUntilMoved(via: hosts[4], timeout: 240)
        print("after REBALANCE (\(planned) moves): \(grown.line)")
        let voters = try checkVoters(via: hosts, live: Set(1...5), shards: shards)
        for node in 1...5 {
            try check((7...12).contains(grown.replicas[node] ?? 0), "host \(node) holds 7 to 12 of 48 replicas: \(grown.line)")
            try checkEqual(grown.replicas[node] ?? 0, voters.values.filter { $0.contains(node) }.count, "PLACEMENT counts host \(node) as STATUS does")
        }
        try checkReadable(expected, via: hosts)
        // Leaders too: REBALANCE counts the leader transfers still wanted, so once leader
        // balance has had its passes it answers OK 0.
        _ = try callUntil(hosts[0], "REBALANCE", timeout: 60) { $0 == "OK 0" }

        // DRAIN 2: every replica leaves it (host 2 also holds the meta shard), shards keep three voters.
        let drainAnswer = try callUntil(hosts[0], "DRAIN 2") { $0.hasPrefix("OK ") }
        try check((Int(drainAnswer.dropFirst(3)) ?? 0) >= (grown.replicas[2] ?? 0), "DRAIN plans a move per replica: \(drainAnswer)")
        let drained = try waitUntilMoved(via: hosts[0], timeout: 240)
        print("after DRAIN 2: \(drained.line)")
        try checkEqual(drained.replicas[2], 0, "host 2 holds nothing after DRAIN: \(drained.line)")
        try checkEqual(drained.hosts, 5, "the drained host is still listed: \(drained.line)")
        let survivors = hosts.filter { $0.node != 2 }
        _ = try checkVoters(via: survivors, live: [1, 3, 4, 5], shards: shards)
        try checkReadable(expected, via: hosts)

        // Host 2 stops for good; then host 4 is killed: every shard still has two of three voters.
        try checkEqual(hosts[1].terminate()?.status, 0, "host 2 stops cleanly")
        hosts[3].kill9()
        let remaining = survivors.filter { $0.node != 4 }
        for (position, shard) in (1...shards).enumerated() {
            let key = keys(inShard: shard, shards: shards, prefix: "after-drain", count: 1)[0]
            _ = try callUntil(remaining[position % remaining.count], "PUT \(key) w-\(shard)", timeout: 30)
            expected[key] = "w-\(shard)"
        }
        try checkReadable(expected, via: remaining)
    }

    func testKillTheMoverMidRebalance() throws {
        var hosts = try startCluster(nodes: [1, 2, 3], shards: shards)
        let writer = AckedWriter(ports: hosts.map(\.clientPort), shards: shards, prefix: "during")
        writer.start()
        hosts += try joinHosts([4, 5], seeds: hosts)
        let answer = try callUntil(hosts[0], "REBALANCE") { $0.hasPrefix("OK ") }
        let planned = Int(answer.dropFirst(3)) ?? 0
        try check(planned >= 10, "REBALANCE plans moves: \(answer)")

        // The mover is the host that logs its moves; kill it once a move is done and others are not.
        var mover: HostProcess?
        try waitFor("a move has finished and others are pending", timeout: 120, interval: 0.02) {
            mover = hosts.first { $0.log().contains("moved a replica from") }
            return mover != nil
        }
        mover!.kill9()
        try mover!.start()
        let moved = try waitUntilMoved(via: hosts[4], timeout: 240)
        print("after the mover (host \(mover!.node)) was killed and restarted: \(moved.line)")
        writer.stop()
        _ = try checkVoters(via: hosts, live: Set(1...5), shards: shards)
        for node in 1...5 {
            try check((7...12).contains(moved.replicas[node] ?? 0), "host \(node) holds 7 to 12 of 48 replicas: \(moved.line)")
        }
        try check(writer.unexpectedAnswers.isEmpty, "unexpected answers to writes: \(writer.unexpectedAnswers.prefix(3))")
        try check(writer.count > 0, "writes were acknowledged during the moves")
        try checkReadable(writer.writes, via: hosts)
    }
}
