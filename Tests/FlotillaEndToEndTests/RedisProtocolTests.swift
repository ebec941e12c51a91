import Foundation
import XCTest

/// The Redis protocol (RESP2) against real hosts, with real Redis tools: `redis-cli` (every
/// supported command, across hosts and shards), `redis-benchmark` (pipelined load of the
/// four commands the README compares), and the Python `redis` client running a cache
/// workload with TTLs. The tools are required: the README's test command installs them.
final class RedisProtocolTests: EndToEndTestCase {
    /// `redis-cli -p PORT args...`, its output without the final newline.
    func redisCli(_ host: HostProcess, _ arguments: [String], raw: Bool = false) throws -> String {
        let run = try runTool(try requireTool("redis-cli"), ["-h", "127.0.0.1", "-p", "\(host.redisPort)"] + (raw ? ["--raw"] : []) + arguments,
                              in: root, timeout: 30)
        try check(!run.timedOut && run.status == 0, "redis-cli \(arguments.joined(separator: " ")): \(run.text)")
        return run.stdout.hasSuffix("\n") ? String(run.stdout.dropLast()) : run.stdout
    }

    func testRedisCliCommandsAcrossHosts() throws {
        let hosts = try startCluster(shards: 8)
        let (first, second, third) = (hosts[0], hosts[1], hosts[2])
        try checkEqual(try redisCli(first, ["PING"]), "PONG", "PING")
        try checkEqual(try redisCli(first, ["SET", "greeting", "hello world"]), "OK", "SET")
        for host in hosts {
            try checkEqual(try redisCli(host, ["GET", "greeting"]), "hello world", "GET on host \(host.node) after SET on host 1")
        }
        try checkEqual(try redisCli(second, ["GET", "absent"]), "", "a missing key is nil")
        try checkEqual(try redisCli(second, ["SET", "greeting", "x", "NX"]), "", "SET NX on a present key")
        try checkEqual(try redisCli(third, ["SET", "greeting", "hi", "XX", "GET"]), "hello world", "SET XX GET answers the old value")
        try checkEqual(try redisCli(first, ["GETSET", "greeting", "hey"]), "hi", "GETSET")
        try checkEqual(try redisCli(first, ["SETNX", "greeting", "no"]), "0", "SETNX on a present key")
        try checkEqual(try redisCli(second, ["APPEND", "greeting", "!"]), "4", "APPEND answers the length")
        try checkEqual(try redisCli(third, ["STRLEN", "greeting"]), "4", "STRLEN")
        try checkEqual(try redisCli(third, ["TYPE", "greeting"]), "string", "TYPE")
        try checkEqual(try redisCli(third, ["TYPE", "absent"]), "none", "TYPE of a missing key")

        // Counters, and the error that leaves a value alone.
        try checkEqual(try redisCli(first, ["INCR", "counter"]), "1", "INCR")
        try checkEqual(try redisCli(second, ["INCRBY", "counter", "41"]), "42", "INCRBY")
        try checkEqual(try redisCli(third, ["DECRBY", "counter", "2"]), "40", "DECRBY")
        try checkEqual(try redisCli(first, ["DECR", "counter"]), "39", "DECR")
        let answer1 = try redisCli(first, ["INCR", "greeting"])
        try check(answer1.contains("not an integer"), "INCR of a string is an error")
        try checkEqual(try redisCli(first, ["GET", "greeting"]), "hey!", "the failed INCR changed nothing")
        // The line protocol sees the same counter, and INCRs it too.
        try checkEqual(second.call("INCR counter 1"), "VALUE 40", "line-protocol INCR on the same engine")

        // Multi-key commands, split by shard and answered in key order.
        let keys = (0..<24).map { "multi-\($0)" }
        try check(Set(keys.map { shardOf($0, shards: 8) }).count > 4, "the keys span several shards")
        try checkEqual(try redisCli(first, ["MSET"] + keys.flatMap { [$0, "value-\($0)"] }), "OK", "MSET")
        try checkEqual(try redisCli(second, ["MGET"] + keys + ["absent"], raw: true),
                       (keys.map { "value-\($0)" } + [""]).joined(separator: "\n"), "MGET in order, nil for the missing key")
        try checkEqual(try redisCli(third, ["EXISTS", "multi-0", "multi-1", "absent", "multi-0"]), "3", "EXISTS counts every present key")
        try checkEqual(try redisCli(first, ["DEL", "multi-0", "multi-1", "absent"]), "2", "DEL counts the keys it removed")
        try checkEqual(try redisCli(first, ["EXISTS", "multi-0"]), "0", "a deleted key")

        // Expiry: decided by the leader, read as gone at once, swept through the log.
        try checkEqual(try redisCli(first, ["SET", "session", "s", "PX", "400"]), "OK", "SET PX")
        let left = Int(try redisCli(second, ["PTTL", "session"])) ?? -100
        try check(left > 0 && left <= 400, "PTTL of a 400 ms key: \(left)")
        try checkEqual(try redisCli(third, ["TTL", "counter"]), "-1", "TTL of a key without expiry")
        try checkEqual(try redisCli(third, ["TTL", "absent"]), "-2", "TTL of a missing key")
        try checkEqual(try redisCli(first, ["EXPIRE", "counter", "100"]), "1", "EXPIRE")
        try checkEqual(try redisCli(second, ["PERSIST", "counter"]), "1", "PERSIST")
        try checkEqual(try redisCli(second, ["TTL", "counter"]), "-1", "TTL after PERSIST")
        try waitFor("the 400 ms key reads as missing on every host", timeout: 10) {
            hosts.allSatisfy { (try? redisCli($0, ["GET", "session"])) == "" }
        }
        let sessionShard = shardOf("session", shards: 8)
        try waitFor("every replica deleted the expired key (the leader's sweep went through the log)", timeout: 15) {
            // SCAN never shows an expired key; STATUS counts every key a replica holds.
            guard let live = try? redisCli(first, ["--scan"]) else { return false }
            let liveInShard = live.split(separator: "\n").filter { shardOf(String($0), shards: 8) == sessionShard }.count
            return hosts.allSatisfy { Int($0.status(sessionShard)["keys"] ?? "") == liveInShard }
        }

        // Binary-safe values: a value with CR LF, written with redis-cli -x.
        let binary = try runTool("/bin/bash", ["-c", "printf 'line one\\r\\nline two' | '\(try requireTool("redis-cli"))' -h 127.0.0.1 -p \(first.redisPort) -x SET binary"],
                                 in: root, timeout: 30)
        try check(binary.status == 0 && binary.stdout.hasPrefix("OK"), "redis-cli -x SET: \(binary.text)")
        try checkEqual(try redisCli(second, ["STRLEN", "binary"]), "18", "the value's bytes, CR LF included")
        try check(third.call("GET binary")?.hasPrefix("ERR BAD_REQUEST") == true,
                  "the line protocol refuses to print a value with a line end: \(third.call("GET binary") ?? "")")

        // DBSIZE and SCAN over every shard.
        let size = Int(try redisCli(third, ["DBSIZE"])) ?? -1
        let scanned = try redisCli(second, ["--scan"]).split(separator: "\n").map(String.init)
        try checkEqual(Set(scanned).count, size, "SCAN walks every key DBSIZE counts (\(scanned.count) returned)")
        try check(Set(scanned).isSuperset(of: ["greeting", "counter", "binary"] + keys.dropFirst(2)), "SCAN finds every key: \(scanned.sorted())")
        let matched = try redisCli(first, ["--scan", "--pattern", "multi-1*"]).split(separator: "\n").map(String.init)
        try checkEqual(Set(matched), Set(keys.filter { $0.hasPrefix("multi-1") && $0 != "multi-1" }), "SCAN MATCH")

        // Connection commands and errors.
        try checkEqual(try redisCli(first, ["ECHO", "hi there"]), "hi there", "ECHO")
        try checkEqual(try redisCli(first, ["SELECT", "0"]), "OK", "SELECT 0")
        let answer2 = try redisCli(first, ["SELECT", "1"])
        try check(answer2.hasPrefix("ERR"), "SELECT 1 is refused")
        let answer3 = try redisCli(first, ["FLUSHALL"])
        try check(answer3.hasPrefix("ERR unknown command 'FLUSHALL'"), "an unsupported command")
        let answer4 = try redisCli(first, ["GET"])
        try check(answer4.contains("wrong number of arguments"), "wrong arity")
        let answer5 = try redisCli(first, ["INFO"])
        try check(answer5.contains("flotilla_version:"), "INFO names Flotilla's version")
        try checkEqual(try redisCli(first, ["CLIENT", "SETNAME", "tester"]), "OK", "CLIENT SETNAME")
        let refused = try runTool("/bin/bash", ["-c", "head -c \((1 << 20) + 1) /dev/zero | tr '\\0' v | '\(try requireTool("redis-cli"))' -h 127.0.0.1 -p \(first.redisPort) -x SET big"],
                                  in: root, timeout: 30)
        try check(refused.stdout.contains("TOOLARGE"), "a value over 1 MiB: \(refused.stdout.prefix(200))")
        try checkEqual(try redisCli(first, ["EXISTS", "big"]), "0", "the refused value was not written")
    }

    func testRedisBenchmarkPipelinedAgainstThreeHosts() throws {
        let benchmark = try requireTool("redis-benchmark")
        let load = ["-t", "set,get,incr,mset", "-n", "3000", "-c", "8", "-P", "16", "-r", "1000", "-q"]
        let hosts = try startCluster(shards: 8)
        for host in hosts {
            let run = try runTool(benchmark, ["-h", "127.0.0.1", "-p", "\(host.redisPort)"] + load, in: root, timeout: 120)
            try check(!run.timedOut && run.status == 0, "redis-benchmark against host \(host.node): \(run.text)")
            for test in ["SET", "GET", "INCR", "MSET (10 keys)"] {
                try check(run.stdout.contains("\(test): ") && run.stdout.contains("requests per second"),
                          "redis-benchmark ran \(test) against host \(host.node): \(run.stdout.suffix(600))")
            }
            try check(!run.stdout.contains("ERR") && !run.stderr.contains("ERR"), "no errors: \(run.text.suffix(600))")
        }
        // Every INCR applied exactly once: the counters sum to three times what the same load
        // INCRs on a real redis-server (redis-benchmark rounds -n up to whole pipelines).
        let counters = try redisCli(hosts[1], ["--scan", "--pattern", "counter:*"]).split(separator: "\n").map(String.init)
        try check(!counters.isEmpty, "redis-benchmark's counters are there")
        let total = try redisCli(hosts[2], ["MGET"] + counters, raw: true).split(separator: "\n").compactMap { Int($0) }.reduce(0, +)
        let reference = try ReferenceRedis(directory: root)
        defer { reference.stop() }
        let referenceRun = try runTool(benchmark, ["-h", "127.0.0.1", "-p", "\(reference.port)", "-t", "incr"] + load.dropFirst(2), in: root, timeout: 120)
        try check(referenceRun.status == 0, "redis-benchmark against redis-server: \(referenceRun.text)")
        let referenceCounters = try runTool(try requireTool("redis-cli"), ["-p", "\(reference.port)", "--scan", "--pattern", "counter:*"], in: root).stdout
            .split(separator: "\n").map(String.init)
        let referenceTotal = try runTool(try requireTool("redis-cli"), ["-p", "\(reference.port)", "--raw", "MGET"] + referenceCounters, in: root).stdout
            .split(separator: "\n").compactMap { Int($0) }.reduce(0, +)
        try check(referenceTotal >= 3_000, "redis-server counted \(referenceTotal) INCRs")
        try checkEqual(total, 3 * referenceTotal, "the counters sum to every INCR sent")
    }

    func testPythonClientCacheWorkloadWithTTLs() throws {
        let python = try requireTool("python3")
        let probe = try runTool(python, ["-c", "import redis"], in: root, timeout: 30)
        try check(probe.status == 0, "the Python redis client is missing; tools/install-dependencies installs it: \(probe.text)")
        let hosts = try startCluster(shards: 8)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("testdata/redis/cache_workload.py").path
        let run = try runTool(python, [script, "--port", "\(hosts[0].redisPort)", "--other-port", "\(hosts[2].redisPort)"], in: root, timeout: 120)
        try check(!run.timedOut && run.status == 0 && run.stdout.contains("ok"), "the cache workload: \(run.text)")
    }
}
