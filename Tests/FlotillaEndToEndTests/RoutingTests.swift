import Foundation
import XCTest

/// Routing hints with real processes: `ROUTES` names the leaders `STATUS` names and the
/// hosts' real client addresses, `flotilla bench --direct` sends nothing a host has to relay
/// (the hosts' `flotilla_relayed_requests_total` stays flat, where the plain bench moves it),
/// and a leadership change in the middle of a direct run is followed without a lost answer.
final class RoutingTests: EndToEndTestCase {
    static let shardCount = 8

    typealias Routes = (node: Int, leaders: [Int], client: [Int: String], redis: [Int: String])

    /// `ROUTES` on `host`, as its fields; a failed step when it is not a routes line.
    func requireRoutes(_ host: HostProcess) throws -> Routes {
        let answer = host.call("ROUTES") ?? "(no answer)"
        let parsed = routes(answer, host: host)
        try check(parsed != nil, "ROUTES on host \(host.node) answered '\(answer)'")
        return parsed!
    }

    /// `ROUTES` on `host`, or nil when it did not answer one.
    func routes(_ host: HostProcess) -> Routes? { routes(host.call("ROUTES") ?? "", host: host) }

    func routes(_ answer: String, host: HostProcess) -> Routes? {
        var fields: [String: String] = [:]
        for pair in answer.split(separator: " ") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            fields[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        func addresses(_ text: String?) -> [Int: String] {
            var parsed: [Int: String] = [:]
            for item in (text ?? "").split(separator: ",") {
                let parts = item.split(separator: "@", maxSplits: 1)
                if parts.count == 2, let node = Int(parts[0]) { parsed[node] = String(parts[1]) }
            }
            return parsed
        }
        let leaders = (fields["leaders"] ?? "").split(separator: ",").compactMap { Int($0) }
        guard fields["node"] == "\(host.node)", fields["shards"] == "\(Self.shardCount)", leaders.count == Self.shardCount else { return nil }
        return (host.node, leaders, addresses(fields["client"]), addresses(fields["redis"]))
    }

    /// A counter of each host's `/metrics` (one without labels).
    func counter(_ name: String, _ hosts: [HostProcess]) throws -> [Int] {
        try hosts.map { host in
            let scrape = httpGet(port: host.metricsPort, path: "/metrics")
            let line = scrape?.body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            let value = line.flatMap { Double($0.split(separator: " ").last ?? "") }
            try check(value != nil, "host \(host.node)'s /metrics has no \(name): \(scrape?.body.prefix(200) ?? "no answer")")
            return Int(value!)
        }
    }

    func relayedRequests(_ hosts: [HostProcess]) throws -> [Int] { try counter("flotilla_relayed_requests_total", hosts) }

    /// A direct bench through `given` relays nothing on any host and sees no hint. A run during
    /// which some shard held an election (a host starved of CPU on a busy machine) may
    /// rightly be relayed in part, so such a run is repeated, up to three times.
    func checkDirectRunRelaysNothing(_ hosts: [HostProcess], given: [HostProcess], operations: Int) throws {
        for attempt in 1...3 {
            let elections = try counter("flotilla_elections_total", hosts)
            let before = try relayedRequests(hosts)
            let run = try bench(given, direct: true, reads: "0.5", operations: operations)
            let after = try relayedRequests(hosts)
            let relayFree = after == before && run.stdout.contains("direct: answers=\(operations) errors=0 hinted=0 ")
            if !relayFree, attempt < 3, try counter("flotilla_elections_total", hosts) != elections { continue }
            try checkEqual(summaryErrors(run), 0, "errors of the direct bench: \(run.stdout)")
            try check(run.stdout.contains("direct: answers=\(operations) errors=0 hinted=0 "), "the direct bench's own count: \(run.stdout)")
            try checkEqual(after, before, "relayed requests on hosts 1-3 across the direct bench")
            return
        }
    }

    func bench(_ hosts: [HostProcess], direct: Bool, reads: String, operations: Int) throws -> ToolRun {
        let arguments = ["bench", "--addr", hosts.map(\.clientAddress).joined(separator: ","), "--connections", "8",
                         "--ops", "\(operations)", "--reads", reads, "--key-prefix", "routing-"] + (direct ? ["--direct"] : [])
        let run = try runTool(binary, arguments, in: root, timeout: 120)
        try checkEqual(run.status, 0, "flotilla bench\(direct ? " --direct" : ""): \(run.text)")
        return run
    }

    func summaryErrors(_ run: ToolRun) -> Int? {
        run.stdout.split(separator: "\n").last.flatMap { $0.split(separator: " ").last }.flatMap { Int($0.dropFirst("errors=".count)) }
    }

    func testRoutesNameTheLeadersAndDirectLoadIsNotRelayed() throws {
        let hosts = try startCluster(shards: Self.shardCount)
        // Every host's ROUTES names the leaders its STATUS names, and every host's addresses.
        try waitFor("every host's ROUTES agrees with its STATUS", timeout: 20) {
            hosts.allSatisfy { host in
                guard let routes = routes(host) else { return false }
                return (1...Self.shardCount).allSatisfy { routes.leaders[$0 - 1] == leader(of: $0, askingHost: host) }
            }
        }
        for host in hosts {
            let routes = try requireRoutes(host)
            try check(routes.leaders.allSatisfy { (1...3).contains($0) }, "host \(host.node) names a leader for every shard: \(routes.leaders)")
            for other in hosts where routes.leaders.contains(other.node) || other.node == host.node {
                try checkEqual(routes.client[other.node], other.clientAddress, "host \(host.node)'s ROUTES: client address of host \(other.node)")
                try checkEqual(routes.redis[other.node], other.redisAddress, "host \(host.node)'s ROUTES: RESP address of host \(other.node)")
            }
        }

        // The plain bench relays (two of three requests reach a host that does not lead)...
        let beforePlain = try relayedRequests(hosts)
        let plain = try bench(hosts, direct: false, reads: "0", operations: 600)
        try checkEqual(summaryErrors(plain), 0, "errors of the plain bench: \(plain.stdout)")
        let afterPlain = try relayedRequests(hosts)
        try check(zip(afterPlain, beforePlain).map { $0 - $1 }.reduce(0, +) > 0,
                  "the plain bench relayed nothing (\(beforePlain) -> \(afterPlain)): the counter does not count")

        // ...and the direct one does not, for writes and reads alike.
        try checkDirectRunRelaysNothing(hosts, given: hosts, operations: 3_000)
    }

    func testALeadershipChangeDuringDirectLoad() throws {
        let hosts = try startCluster(shards: Self.shardCount)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: binary)
        child.arguments = ["bench", "--addr", hosts[0].clientAddress, "--connections", "8", "--duration", "6", "--reads", "0.3",
                           "--key-prefix", "moving-", "--direct"]
        let output = Pipe()
        child.standardOutput = output
        child.standardError = output
        child.standardInput = FileHandle.nullDevice
        try child.run()
        defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }
        // Once the load runs (its first progress line), every shard host 1 leads moves away.
        var text = ""
        while !text.contains(" ops ") {
            let data = output.fileHandleForReading.availableData
            try check(!data.isEmpty, "flotilla bench --direct ended before any progress: \(text)")
            text += String(decoding: data, as: UTF8.self)
        }
        var moved: [Int] = []
        for shard in 1...Self.shardCount where leader(of: shard, askingHost: hosts[0]) == 1 {
            _ = try callUntil(hosts[0], "TRANSFER \(shard) \(shard % 2 + 2)")
            moved.append(shard)
        }
        text += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        try checkEqual(child.terminationStatus, 0, "flotilla bench --direct across the transfers of shards \(moved): \(text)")
        let lines = text.split(separator: "\n")
        try check(lines.last?.hasPrefix("ops/s=") == true && lines.dropLast().last?.hasPrefix("direct: answers=") == true,
                  "the direct bench's last lines: \(lines.suffix(2))")
        // Every error is counted once, in both lines (answered errors and lost requests alike).
        let directErrors = lines.dropLast().last.flatMap { line in
            line.split(separator: " ").first { $0.hasPrefix("errors=") }.flatMap { Int($0.dropFirst("errors=".count)) }
        }
        let summary = lines.last.flatMap { $0.split(separator: " ").last }.flatMap { Int($0.dropFirst("errors=".count)) }
        try check(directErrors != nil && directErrors == summary, "the direct bench's error counts: \(lines.suffix(2))")
        try checkEqual(hosts[1].call("PUT moving-check after"), "OK", "a write after the transfers")
        // The hosts now name the new leaders, and a direct run after the change relays nothing.
        try waitFor("every host's ROUTES names the new leaders", timeout: 20) {
            hosts.allSatisfy { host in
                guard let routes = routes(host) else { return false }
                return moved.allSatisfy { routes.leaders[$0 - 1] != 1 }
                    && (1...Self.shardCount).allSatisfy { routes.leaders[$0 - 1] == leader(of: $0, askingHost: host) }
            }
        }
        try checkDirectRunRelaysNothing(hosts, given: [hosts[2]], operations: 1_000)
    }
}
