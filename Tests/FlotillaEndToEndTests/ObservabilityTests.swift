import Foundation
import XCTest

/// Metrics, health, logs and `flotilla status` on real processes (issue 13).
final class ObservabilityTests: EndToEndTestCase {
    /// promtool from PATH; a failed step in CI (where the test setup installs it), nil otherwise.
    func promtool() throws -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/promtool" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        if path == nil && ProcessInfo.processInfo.environment["CI"] == "true" {
            try check(false, "promtool is not installed (Debian's prometheus package; tools/install-dependencies installs it)")
        }
        return path
    }

    func testMetricsHealthAndStatusOfAThreeHostCluster() throws {
        let shards = 4
        let hosts = try startCluster(shards: shards)
        try putAll((0..<40).map { ("observed-\($0)", "value-\($0)") }, via: hosts[0])
        try checkEqual(hosts[1].call("GET observed-7"), "VALUE value-7", "a read through host 2")

        // Every host serves valid Prometheus text with the SPEC's metrics.
        let leaderOfShard1 = leader(of: 1, askingHost: hosts[0])
        for host in hosts {
            guard let scrape = httpGet(port: host.metricsPort, path: "/metrics") else {
                return try check(false, "no answer on host \(host.node)'s /metrics")
            }
            try checkEqual(scrape.status, 200, "/metrics on host \(host.node)")
            for name in ["flotilla_replica_role{", "flotilla_replica_commit_index{", "flotilla_replica_applied_index{",
                         "flotilla_elections_total", "flotilla_requests_total{", "flotilla_request_duration_seconds_bucket{",
                         "flotilla_logstore_commit_duration_seconds_bucket{", "flotilla_logstore_syncs_total", "flotilla_busy_total",
                         "flotilla_transport_bytes_total{direction=\"in\"}", "flotilla_transport_dropped_total",
                         "flotilla_snapshot_bytes_total{direction=\"out\"}"] {
                try check(scrape.body.contains(name), "host \(host.node)'s /metrics lacks \(name)")
            }
            try check(scrape.body.contains("flotilla_replica_role{shard=\"1\",replica=\"\(host.node)\"}"),
                      "host \(host.node) reports its own replica of shard 1")
            if host.node == leaderOfShard1 {
                // The leader's view of both followers.
                for follower in hosts.map(\.node) where follower != host.node {
                    try check(scrape.body.contains("flotilla_replica_lag_entries{shard=\"1\",replica=\"\(follower)\"}"),
                              "the leader of shard 1 (host \(host.node)) reports the lag of replica \(follower)")
                }
            }
            if host.node == 1 {
                try check(scrape.body.contains("flotilla_requests_total{command=\"put\",result=\"ok\"} 40"),
                          "host 1 counted its 40 PUTs: \(scrape.body.split(separator: "\n").filter { $0.contains("command=\"put\"") })")
            }
            let file = "\(root)/metrics-\(host.node).txt"
            try scrape.body.write(toFile: file, atomically: true, encoding: .utf8)
            if let promtool = try promtool() {
                let run = try runTool("/bin/sh", ["-c", "'\(promtool)' check metrics < '\(file)'"], in: root)
                try checkEqual(run.status, 0, "promtool check metrics on host \(host.node)'s /metrics: \(run.text)")
            }
            let health = httpGet(port: host.metricsPort, path: "/health")
            try checkEqual(health?.status, 200, "/health on host \(host.node) with every leader known")
            try checkEqual(health?.body, "ok\n", "/health body")
        }
        try checkEqual(httpGet(port: hosts[0].metricsPort, path: "/nothing")?.status, 404, "an unknown path")

        // `flotilla status`: one row per replica of every shard, every shard led.
        let status = try runTool(binary, ["status", "--addr", hosts[1].clientAddress], in: root)
        try checkEqual(status.status, 0, "flotilla status with every shard led: \(status.text)")
        let rows = status.stdout.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| SHARD") }
        try checkEqual(rows.count, shards * 3, "rows of flotilla status: \(status.stdout)")
        try checkEqual(rows.filter { $0.contains("| leader ") }.count, shards, "one leader per shard: \(status.stdout)")
        try check(status.stdout.contains("| SHARD | REPLICA | ROLE"), "the header: \(status.stdout)")
        let one = try runTool(binary, ["status", "--addr", hosts[2].clientAddress, "--shard", "2"], in: root)
        try checkEqual(one.status, 0, "flotilla status --shard 2: \(one.text)")
        try checkEqual(one.stdout.split(separator: "\n").filter { $0.hasPrefix("| 2 ") }.count, 3, "shard 2's replicas: \(one.stdout)")
        let nowhere = try runTool(binary, ["status", "--addr", "127.0.0.1:\(FreePort.next())"], in: root)
        try check(nowhere.status != 0 && nowhere.stderr.contains("cannot connect"), "flotilla status on a closed port: \(nowhere.text)")

        // Without a quorum, host 1's /health is 503 and names every shard.
        hosts[1].kill9()
        hosts[2].kill9()
        var last: (status: Int, body: String)?
        try waitFor("host 1's /health is 503 naming every shard", timeout: 30, interval: 0.1) {
            // No request wakes the shards: losing the peers' connections does.
            last = httpGet(port: hosts[0].metricsPort, path: "/health")
            guard let last, last.status == 503 else { return false }
            return (1...shards).allSatisfy { last.body.contains("shard \($0)") }
        }
        try check(last?.body.hasPrefix("no leader: ") == true, "the 503 body: \(last?.body ?? "")")
        let leaderless = try runTool(binary, ["status", "--addr", hosts[0].clientAddress], in: root, timeout: 120)
        try checkEqual(leaderless.status, 1, "flotilla status with no leader anywhere: \(leaderless.text)")
        try check(leaderless.stderr.contains("no leader in shard"), "says which shards: \(leaderless.text)")
    }

    func testLogLevelsAndOneSummaryLineAtStart() throws {
        let host = makeHost(node: 1, extra: [])
        host.useServeArguments(["--shards", "16"] + fastTicks)
        try host.start()
        try waitUntilServing([host], shards: 16)
        try checkEqual(host.terminate()?.status, 0, "exit status after SIGTERM")
        try host.start()
        try waitUntilServing([host], shards: 16)
        try checkEqual(host.terminate()?.status, 0, "exit status after SIGTERM")
        let twoRuns = host.log()
        try checkEqual(twoRuns.components(separatedBy: "bootstrapped 16 shards").count - 1, 1, "one summary line at first boot:\n\(twoRuns)")
        try checkEqual(twoRuns.components(separatedBy: "recovered 16 replicas").count - 1, 1, "one summary line at restart:\n\(twoRuns)")
        try check(!twoRuns.contains("applied add-voter"), "no line per shard for the replayed membership:\n\(twoRuns)")
        try check(twoRuns.contains(" info flotilla: node=1 shard="), "election lines at info carry shard metadata:\n\(twoRuns)")
        try check(twoRuns.contains(" term="), "and the term:\n\(twoRuns)")

        host.useServeArguments(["--log-level", "warning"] + fastTicks)
        try host.start()
        try waitUntilServing([host], shards: 16)
        try checkEqual(host.terminate()?.status, 0, "exit status after SIGTERM")
        let quietRun = host.log().components(separatedBy: "==== ").last ?? ""
        try check(quietRun.contains("--log-level warning"), "the last run's section: \(quietRun)")
        for level in [" trace ", " debug ", " info ", " notice "] {
            try check(!quietRun.contains(level), "--log-level warning printed a line with '\(level)':\n\(quietRun)")
        }

        host.useServeArguments(["--log-level", "debug"] + fastTicks)
        try host.start()
        try waitUntilServing([host], shards: 16)
        try checkEqual(host.terminate()?.status, 0, "exit status after SIGTERM")
        let debugRun = host.log().components(separatedBy: "==== ").last ?? ""
        try check(debugRun.contains(" debug "), "--log-level debug prints debug lines:\n\(debugRun)")
        // The shards' state is stored with their logs, so a restart resumes after the bootstrap
        // membership instead of replaying it (before, debug showed an `applied add-voter` line
        // per shard and voter at every start).
        try check(!debugRun.contains("applied add-voter"), "a restart replays no membership change it had applied:\n\(debugRun)")
    }

    func testVersion() throws {
        let run = try runTool(binary, ["--version"], in: root)
        try checkEqual(run.status, 0, "flotilla --version: \(run.text)")
        try check(run.stdout.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, "a version number: \(run.text)")
    }
}
