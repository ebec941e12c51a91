import Foundation
import XCTest

/// A `PLACEMENT` answer, parsed: the host count, the moves pending, and per host the replicas
/// and leaders it counts.
struct PlacementLine {
    var line: String
    var hosts: Int
    var movesPending: Int
    var replicas: [Int: Int]
    var leaders: [Int: Int]
}

/// Helpers for the tests that grow, rebalance and drain clusters.
extension EndToEndTestCase {
    /// Starts `nodes` with --join (the seeds as members) and adds each with ADD-HOST.
    func joinHosts(_ nodes: [Int], seeds: [HostProcess], extra: [String] = []) throws -> [HostProcess] {
        var joined: [HostProcess] = []
        for node in nodes {
            let host = makeHost(node: node, extra: ["--members", members(seeds), "--join"] + fastTicks + extra)
            try host.start()
            try waitFor("host \(node) answers PING", timeout: 30) { host.call("PING", timeoutSeconds: 2) == "PONG" }
            _ = try callUntil(seeds[node % seeds.count], "ADD-HOST \(node) \(host.raftAddress)")
            joined.append(host)
        }
        return joined
    }

    func placement(via host: HostProcess) throws -> PlacementLine {
        let line = try callUntil(host, "PLACEMENT", timeout: 30) { $0.hasPrefix("hosts=") }
        return parsePlacement(line)
    }

    func parsePlacement(_ line: String) -> PlacementLine {
        let tokens = line.split(separator: " ").map(String.init)
        let header = statusFields(tokens.prefix(3).joined(separator: " "))
        var replicas: [Int: Int] = [:]
        var leaders: [Int: Int] = [:]
        for token in tokens.dropFirst(3) {
            let parts = token.split(separator: ":")
            guard parts.count == 2, let node = Int(parts[0]) else { continue }
            let counts = statusFields(parts[1].replacingOccurrences(of: ",", with: " "))
            if let count = Int(counts["replicas"] ?? "") { replicas[node] = count }
            if let count = Int(counts["leaders"] ?? "") { leaders[node] = count }
        }
        return PlacementLine(line: line, hosts: Int(header["hosts"] ?? "") ?? -1, movesPending: Int(header["moves_pending"] ?? "") ?? -1,
                             replicas: replicas, leaders: leaders)
    }

    /// Polls PLACEMENT until no move is pending.
    func waitUntilMoved(via host: HostProcess, timeout: Double) throws -> PlacementLine {
        var last: PlacementLine?
        try waitFor("moves_pending=0 (last: \(last?.line ?? "none"))", timeout: timeout, interval: 0.5) {
            last = try? placement(via: host)
            return last?.movesPending == 0
        }
        return last!
    }

    /// Polls PLACEMENT until `accept` holds for it; the last answer.
    func waitForPlacement(_ what: String, via host: HostProcess, timeout: Double,
                          file: StaticString = #filePath, line: UInt = #line,
                          _ accept: (PlacementLine) -> Bool) throws -> PlacementLine {
        var last: PlacementLine?
        let done = eventually(timeout: timeout, interval: 0.5) {
            guard let answer = host.call("PLACEMENT"), answer.hasPrefix("hosts=") else { return false }
            last = parsePlacement(answer)
            return accept(last!)
        }
        try check(done, "timed out after \(timeout) s waiting until \(what); last PLACEMENT: \(last?.line ?? "none")", file: file, line: line)
        return last!
    }

    /// Every shard has three voters, no observers, all among `live`, the same on every host
    /// asked; answers each shard's voters.
    func checkVoters(via hosts: [HostProcess], live: Set<Int>, shards: Int) throws -> [Int: Set<Int>] {
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
