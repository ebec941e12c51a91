import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `flotilla bench --protocol redis` against a real `redis-server` (Debian's, installed by the
/// test setup): RESP requests it accepts, replies it understands, errors it counts.
final class RedisBenchTests: EndToEndTestCase {
    static let summaryPattern = #"^ops/s=\d+ p50_ms=\d+\.\d+ p99_ms=\d+\.\d+ p999_ms=\d+\.\d+ errors=\d+$"#
    private var redis: ReferenceRedis?

    override func tearDown() {
        redis?.stop()
        redis = nil
        super.tearDown()
    }

    /// A throwaway redis-server on a free loopback port, answering PING.
    func startRedis() throws -> Int {
        let server = try ReferenceRedis(directory: root)
        redis = server
        return server.port
    }

    /// `redis-cli -p port arguments...`, its output trimmed, or nil if it failed.
    func redisCLI(_ port: Int, _ arguments: [String]) -> String? {
        guard let cli = try? requireTool("redis-cli"),
              let run = try? runTool(cli, ["-p", "\(port)"] + arguments, in: root, timeout: 20), run.status == 0 else { return nil }
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func bench(_ arguments: [String]) throws -> String {
        let run = try runTool(binary, ["bench"] + arguments, in: root, timeout: 60)
        try check(!run.timedOut && run.status == 0, "flotilla bench \(arguments): \(run.text)")
        let last = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        try check(last.range(of: Self.summaryPattern, options: .regularExpression) != nil, "last line '\(last)' of \(run.text)")
        return last
    }

    func testRedisModeAgainstRealRedis() throws {
        let port = try startRedis()
        let address = "127.0.0.1:\(port)"

        // Closed loop, pipelined, half reads (some of keys not written yet: `$-1`, not an error).
        let closed = try bench(["--addr", address, "--protocol", "redis", "--connections", "4", "--pipeline", "8",
                                "--ops", "4000", "--reads", "0.5", "--keys", "500", "--key-prefix", "bench:", "--value-size", "32"])
        try check(closed.hasSuffix(" errors=0"), "closed loop: \(closed)")
        let keys = redisCLI(port, ["--scan", "--pattern", "*"])?.split(separator: "\n") ?? []
        try check(!keys.isEmpty && keys.allSatisfy { $0.hasPrefix("bench:") }, "keys written: \(keys.prefix(5)) (\(keys.count))")
        try check(keys.count <= 500, "keys drawn from --keys 500, got \(keys.count)")
        try checkEqual(redisCLI(port, ["STRLEN", String(keys[0])]), "32", "the value size")

        // Open loop at a fixed rate.
        let open = try bench(["--addr", address, "--protocol", "redis", "--connections", "2", "--rate", "1000",
                              "--ops", "300", "--reads", "0.5", "--key-prefix", "open:"])
        try check(open.hasSuffix(" errors=0"), "open loop: \(open)")

        // Every command refused (`-NOAUTH ...`): each counts as an error.
        try checkEqual(redisCLI(port, ["CONFIG", "SET", "requirepass", "secret"]), "OK", "CONFIG SET requirepass")
        let refused = try bench(["--addr", address, "--protocol", "redis", "--connections", "2", "--ops", "200"])
        try check(refused.hasSuffix(" errors=200"), "every refused request is an error: \(refused)")
    }

    /// The same load on Flotilla's own RESP listener, closed and open loop.
    func testRedisModeAgainstFlotilla() throws {
        let host = makeHost(node: 1, extra: ["--shards", "4"] + fastTicks)
        try host.start()
        try waitUntilServing([host], shards: 4)
        let closed = try bench(["--addr", host.redisAddress, "--protocol", "redis", "--connections", "4", "--pipeline", "4",
                                "--ops", "2000", "--reads", "0.5", "--key-prefix", "bench:"])
        try check(closed.hasSuffix(" errors=0"), "closed loop on Flotilla's RESP port: \(closed)")
        let open = try bench(["--addr", host.redisAddress, "--protocol", "redis", "--connections", "2", "--rate", "1000",
                              "--ops", "300", "--reads", "0.5", "--key-prefix", "bench:"])
        try check(open.hasSuffix(" errors=0"), "open loop on Flotilla's RESP port: \(open)")
        try check(host.call("GET bench:0").map { $0 == "NOT_FOUND" || $0.hasPrefix("VALUE ") } ?? false,
                  "the keys are Flotilla's keys, readable over the line protocol")
    }
}
