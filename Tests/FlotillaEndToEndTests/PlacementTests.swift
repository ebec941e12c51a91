import Foundation
import XCTest

/// Issue 14, placement at creation: five hosts with `--replicas 3` put each of 16 shards on
/// three of them, spread about evenly; any host still answers any key (relaying to a host
/// that holds the shard); `PLACEMENT` counts what the shards have; one host killed leaves
/// every shard writable; a restarted host recovers exactly its own replicas.
final class PlacementTests: EndToEndTestCase {
    func testFiveHostsWithThreeReplicasEach() throws {
        let shards = 16
        let hosts = try startCluster(nodes: [1, 2, 3, 4, 5], shards: shards, extra: ["--replicas", "3"])
        let voters = try checkPlacedVoters(hosts, shards: shards)

        // Every host takes writes and linearizable reads for keys of every shard.
        var expected: [String: String] = [:]
        for host in hosts {
            var pairs: [(key: String, value: String)] = []
            for shard in 1...shards {
                for key in keys(inShard: shard, shards: shards, prefix: "via-\(host.node)-shard-\(shard)", count: 3) {
                    pairs.append((key, "value-of-\(key)"))
                }
            }
            try putAll(pairs, via: host)
            for pair in pairs { expected[pair.key] = pair.value }
        }
        try checkReadable(expected, via: hosts)

        // PLACEMENT through a host, counted from the shards: matches what STATUS showed.
        try checkPlacement(via: hosts[3], voters: voters, shards: shards)
        // `flotilla status` through one host shows each shard's three replicas: 48 rows.
        let table = try runTool(binary, ["status", "--addr", hosts[4].clientAddress], in: root)
        let rows = table.stdout.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| SHARD") }
        try check(table.status == 0 && rows.count == 48, "flotilla status: \(rows.count) rows, exit \(table.status): \(table.text)")

        // SIGKILL a host: every shard still has two of its three voters, so takes writes
        // through every remaining host.
        let victim = hosts[0]
        let survivors = Array(hosts.dropFirst())
        victim.kill9()
        for (position, shard) in (1...shards).enumerated() {
            let host = survivors[position % survivors.count]
            let key = keys(inShard: shard, shards: shards, prefix: "after-kill", count: 1)[0]
            _ = try callUntil(host, "PUT \(key) survived-\(shard)")
            expected[key] = "survived-\(shard)"
        }
        try checkReadable(expected, via: survivors)
        try waitFor("PLACEMENT answers with host \(victim.node) down", timeout: 20) {
            hosts[2].call("PLACEMENT", timeoutSeconds: 20)?.hasPrefix("hosts=5 replicas=3 moves_pending=0 ") == true
        }

        // Restarted (same command line), it recovers its own replicas and no others.
        try victim.start()
        try waitUntilServing(hosts, shards: shards)
        try checkEqual(try checkPlacedVoters(hosts, shards: shards), voters, "voters after the restart")
        try checkReadable(expected, via: [victim])
        try check(victim.log().contains("recovered \(voters.values.filter { $0.contains(victim.node) }.count) replicas of 16 shards"),
                  "host \(victim.node) recovered only its own replicas: \(victim.logTail(lines: 5))")
        try checkPlacement(via: victim, voters: voters, shards: shards)
    }

    /// Each shard's voters as every host's STATUS shows them: three, the same everywhere, each
    /// host holding 7 to 12 of the 48 replicas; a holder describes its own replica, a host
    /// without one answers for the shard (and STALE-GET there is UNKNOWN_SHARD).
    func checkPlacedVoters(_ hosts: [HostProcess], shards: Int) throws -> [Int: Set<Int>] {
        var voters: [Int: Set<Int>] = [:]
        var held: [Int: Int] = [:]
        for shard in 1...shards {
            let placed = idList(hosts[0].status(shard)["voters"])
            try checkEqual(placed.count, 3, "voters of shard \(shard): \(placed.sorted())")
            voters[shard] = placed
            for node in placed { held[node, default: 0] += 1 }
            let key = keys(inShard: shard, shards: shards, prefix: "probe", count: 1)[0]
            for host in hosts {
                let status = host.status(shard)
                try checkEqual(idList(status["voters"]), placed, "voters of shard \(shard) as host \(host.node) sees them")
                if placed.contains(host.node) {
                    try checkEqual(status["replica"], "\(host.node)", "STATUS \(shard) on host \(host.node), which holds it")
                } else {
                    try check(placed.contains(Int(status["replica"] ?? "") ?? 0),
                              "STATUS \(shard) on host \(host.node), which does not hold it, describes a holder: \(status)")
                    let stale = host.call("STALE-GET \(key)") ?? "(no answer)"
                    try check(stale.hasPrefix("ERR UNKNOWN_SHARD "), "STALE-GET of shard \(shard) on host \(host.node) answered '\(stale)'")
                }
            }
        }
        try checkEqual(held.values.reduce(0, +), 48, "replicas placed")
        for host in hosts {
            try check((7...12).contains(held[host.node] ?? 0), "host \(host.node) holds \(held[host.node] ?? 0) of 48 replicas: \(held)")
        }
        return voters
    }

    /// `PLACEMENT` parses, names the five hosts, and counts for each the replicas STATUS showed;
    /// the leaders add up to the shards.
    func checkPlacement(via host: HostProcess, voters: [Int: Set<Int>], shards: Int) throws {
        let line = try callUntil(host, "PLACEMENT") { $0.hasPrefix("hosts=") }
        print("PLACEMENT via host \(host.node): \(line)")
        let tokens = line.split(separator: " ").map(String.init)
        try checkEqual(Array(tokens.prefix(3)), ["hosts=5", "replicas=3", "moves_pending=0"], "PLACEMENT header: \(line)")
        var replicas: [Int: Int] = [:]
        var leaders = 0
        for token in tokens.dropFirst(3) {
            let parts = token.split(separator: ":")
            let counts = statusFields(parts.count == 2 ? parts[1].replacingOccurrences(of: ",", with: " ") : "")
            guard parts.count == 2, let node = Int(parts[0]), let count = Int(counts["replicas"] ?? ""), let led = Int(counts["leaders"] ?? "") else {
                return try check(false, "PLACEMENT item '\(token)' is not <node>:replicas=<n>,leaders=<n>: \(line)")
            }
            replicas[node] = count
            leaders += led
        }
        var held: [Int: Int] = [:]
        for placed in voters.values { for node in placed { held[node, default: 0] += 1 } }
        try checkEqual(replicas, held, "PLACEMENT's replicas per host: \(line)")
        try checkEqual(replicas.values.reduce(0, +), 48, "PLACEMENT's replicas: \(line)")
        try checkEqual(leaders, shards, "PLACEMENT's leaders: \(line)")
    }
}
