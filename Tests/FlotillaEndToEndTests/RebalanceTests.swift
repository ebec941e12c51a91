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
        let voters = try checkVoters(via: hosts, live: Set(1...5))
        for node in 1...5 {
            try check((7...12).contains(grown.replicas[node] ?? 0), "host \(node) holds 7 to 12 of 48 replicas: \(grown.line)")
            try checkEqual(grown.replicas[node] ?? 0, voters.values.filter { $0.contains(node) }.count, "PLACEMENT counts host \(node) as STATUS does")
        }
        try checkReadable(expected, via: hosts)
        let again = try callUntil(hosts[0], "REBALANCE") { $0.hasPrefix("OK ") }
        try checkEqual(again, "OK 0", "REBALANCE again when balanced")

        // DRAIN 2: every replica leaves it (host 2 also holds the meta shard), shards keep three voters.
        let drainAnswer = try callUntil(hosts[0], "DRAIN 2") { $0.hasPrefix("OK ") }
        try check((Int(drainAnswer.dropFirst(3)) ?? 0) >= (grown.replicas[2] ?? 0), "DRAIN plans a move per replica: \(drainAnswer)")
        let drained = try waitUntilMoved(via: hosts[0], timeout: 240)
        print("after DRAIN 2: \(drained.line)")
        try checkEqual(drained.replicas[2], 0, "host 2 holds nothing after DRAIN: \(drained.line)")
        try checkEqual(drained.hosts, 5, "the drained host is still listed: \(drained.line)")
        let survivors = hosts.filter { $0.node != 2 }
        _ = try checkVoters(via: survivors, live: [1, 3, 4, 5])
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
        _ = try checkVoters(via: hosts, live: Set(1...5))
        for node in 1...5 {
            try check((7...12).contains(moved.replicas[node] ?? 0), "host \(node) holds 7 to 12 of 48 replicas: \(moved.line)")
        }
        try check(writer.unexpectedAnswers.isEmpty, "unexpected answers to writes: \(writer.unexpectedAnswers.prefix(3))")
        try check(writer.count > 0, "writes were acknowledged during the moves")
        try checkReadable(writer.writes, via: hosts)
    }

    // MARK: helpers

    /// Starts `nodes` with --join (the seeds as members) and adds each with ADD-HOST.
    func joinHosts(_ nodes: [Int], seeds: [HostProcess]) throws -> [HostProcess] {
        var joined: [HostProcess] = []
        for node in nodes {
            let host = makeHost(node: node, extra: ["--members", members(seeds), "--join"] + fastTicks)
            try host.start()
            try waitFor("host \(node) answers PING", timeout: 30) { host.call("PING", timeoutSeconds: 2) == "PONG" }
            _ = try callUntil(seeds[node % seeds.count], "ADD-HOST \(node) \(host.raftAddress)")
            joined.append(host)
        }
        return joined
    }

    struct Placement {
        var line: String
        var hosts: Int
        var movesPending: Int
        var replicas: [Int: Int]
    }

    func placement(via host: HostProcess) throws -> Placement {
        let line = try callUntil(host, "PLACEMENT", timeout: 30) { $0.hasPrefix("hosts=") }
        let tokens = line.split(separator: " ").map(String.init)
        let header = statusFields(tokens.prefix(3).joined(separator: " "))
        var replicas: [Int: Int] = [:]
        for token in tokens.dropFirst(3) {
            let parts = token.split(separator: ":")
            let counts = statusFields(parts.count == 2 ? parts[1].replacingOccurrences(of: ",", with: " ") : "")
            if parts.count == 2, let node = Int(parts[0]), let count = Int(counts["replicas"] ?? "") { replicas[node] = count }
        }
        return Placement(line: line, hosts: Int(header["hosts"] ?? "") ?? -1, movesPending: Int(header["moves_pending"] ?? "") ?? -1,
                         replicas: replicas)
    }

    /// Polls PLACEMENT until no move is pending.
    func waitUntilMoved(via host: HostProcess, timeout: Double) throws -> Placement {
        var last: Placement?
        try waitFor("moves_pending=0 (last: \(last?.line ?? "none"))", timeout: timeout, interval: 0.5) {
            last = try? placement(via: host)
            return last?.movesPending == 0
        }
        return last!
    }

    /// Every shard has three voters, no observers, all among `live`, the same on every host
    /// asked; answers each shard's voters.
    func checkVoters(via hosts: [HostProcess], live: Set<Int>) throws -> [Int: Set<Int>] {
        var voters: [Int: Set<Int>] = [:]
        for shard in 1...shards {
            var status: [String: String] = [:]
            var seen: [String] = []
            let known = eventually(timeout: 30) {
                let statuses = hosts.map { $0.status(shard) }
                seen = zip(hosts, statuses).map { "host \($0.node): \($1["replica"] ?? "?")/\($1["role"] ?? "?") leader=\($1["leader"] ?? "?")" }
                let leaders = statuses.map { Int($0["leader"] ?? "") ?? 0 }
                status = statuses[0]
                return Set(leaders).count == 1 && live.contains(leaders[0])
            }
            try check(known, "shard \(shard) has a leader known to every host: \(seen)")
            let placed = idList(status["voters"])
            try checkEqual(placed.count, 3, "voters of shard \(shard): \(status)")
            try check(placed.isSubset(of: live), "voters of shard \(shard) are live hosts: \(status)")
            try checkEqual(idList(status["observers"]), [], "observers of shard \(shard): \(status)")
            voters[shard] = placed
        }
        return voters
    }
}
