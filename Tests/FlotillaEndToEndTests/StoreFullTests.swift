import Foundation
import XCTest

/// Issue 11 "Disks that fail" and issue 12 "Full map or disk": a host whose log store is full
/// refuses writes with a clear `BUSY`, keeps serving reads, never exits or loses an
/// acknowledged write, and writes again once it has room.
final class StoreFullTests: EndToEndTestCase {
    /// Writes 60 KiB values until the store (`--store-size-max 3M`) is full.
    private func fill(_ host: HostProcess) throws -> (acknowledged: [String: String], refusal: String) {
        guard let client = host.connect(timeoutSeconds: 30) else { throw HarnessError("cannot connect to host \(host.node)") }
        defer { client.close() }
        var acknowledged: [String: String] = [:]
        for number in 0..<400 {
            let key = "big-\(number)"
            let value = "\(number)-" + String(repeating: "v", count: 60 << 10)
            let answer = client.call("PUT \(key) \(value)") ?? "(no answer)"
            if answer == "OK" {
                acknowledged[key] = value
                continue
            }
            // The write that found the store full was in the log already: its outcome is
            // unknown (TIMEOUT). Writes after it never reach the log (BUSY).
            try check(answer.hasPrefix("ERR TIMEOUT") || answer.hasPrefix("ERR BUSY"), "PUT \(key) answered '\(answer.prefix(200))'")
            return (acknowledged, answer)
        }
        try check(false, "400 PUTs of 60 KiB never filled a 3 MiB store")
        return (acknowledged, "")
    }

    func testAFullStoreRefusesWritesKeepsServingReadsAndRecoversWithRoom() throws {
        let host = makeHost(node: 1, extra: [])
        host.useServeArguments(["--shards", "2", "--store-size-max", "3M"] + fastTicks)
        try host.start()
        try waitUntilServing([host], shards: 2)
        let (acknowledged, firstRefusal) = try fill(host)
        try check(acknowledged.count > 5, "only \(acknowledged.count) writes fit before '\(firstRefusal.prefix(200))'")

        // Later writes are refused at once, saying why; DEL, CAS and INCR are writes too.
        var busy = ""
        try waitFor("a PUT is refused with BUSY naming the full store", timeout: 30) {
            busy = host.call("PUT small x") ?? ""
            return busy.hasPrefix("ERR BUSY ") && busy.contains("log store")
        }
        try check(busy.contains("full"), "the refusal does not say the store is full: \(busy)")
        for line in ["DEL big-0", "CAS big-0 a b", "INCR counter 1"] {
            let answer = host.call(line) ?? "(no answer)"
            try check(answer.hasPrefix("ERR BUSY "), "'\(line)' on a full store answered '\(answer.prefix(200))'")
        }
        // Reads go on, linearizable and stale, and the host keeps running.
        try checkReadable(acknowledged, via: [host])
        try checkReadable(acknowledged, via: [host], command: "STALE-GET")
        try check(host.call("PING") == "PONG", "the host stopped answering")
        try check(host.log().contains("the log store refuses writes"), "the refusal was not logged")

        // A clean stop with refused writes still waiting.
        let exit = host.terminate()
        try check(exit?.status == 0 && exit?.bySignal == false, "SIGTERM on a full store: exit \(String(describing: exit))")

        // With room, every acknowledged write is there and writes work again.
        host.useServeArguments(["--shards", "2", "--store-size-max", "64M"] + fastTicks)
        try host.start()
        try waitUntilServing([host], shards: 2)
        try checkReadable(acknowledged, via: [host])
        _ = try callUntil(host, "PUT small x")
        try checkEqual(host.call("GET small"), "VALUE x", "a write after the restart")
        try checkEqual(host.call("DEL big-0"), "OK", "a delete after the restart")
    }

    /// A follower whose store is full falls behind, and the rest of the cluster goes on: a
    /// quorum of hosts with room takes every write.
    func testAFollowerWithAFullStoreDoesNotStopTheCluster() throws {
        let hosts = [1, 2, 3].map { makeHost(node: $0, extra: []) }
        let list = members(hosts)
        for host in hosts {
            let size = host.node == 3 ? "3M" : "256M"
            // Leadership is kept off host 3 by hand (TRANSFER below): leader balance stays off.
            host.useServeArguments(["--members", list, "--shards", "2", "--store-size-max", size, "--no-leader-balance"] + fastTicks)
            try host.start()
        }
        try waitUntilServing(hosts, shards: 2)
        // Leadership away from host 3, whose store will fill.
        for shard in 1...2 where leader(of: shard, askingHost: hosts[0]) == 3 {
            _ = try callUntil(hosts[0], "TRANSFER \(shard) 1")
        }
        var acknowledged: [String: String] = [:]
        guard let client = hosts[0].connect(timeoutSeconds: 30) else { return try check(false, "cannot connect") }
        defer { client.close() }
        for number in 0..<150 {
            let key = "big-\(number)"
            let value = "\(number)-" + String(repeating: "w", count: 60 << 10)
            let answer = client.call("PUT \(key) \(value)") ?? "(no answer)"
            try checkEqual(answer, "OK", "PUT \(key) through host 1 while host 3's store is full")
            acknowledged[key] = value
        }
        try waitFor("host 3 logs that its store refuses writes", timeout: 30) { hosts[2].log().contains("the log store refuses writes") }
        try checkReadable(acknowledged, via: [hosts[0], hosts[1]])
        // Host 3 is still up, and relays reads to the leaders.
        try check(hosts[2].call("PING") == "PONG", "host 3 stopped answering")
        try checkReadable(acknowledged, via: [hosts[2]])
    }
}

/// A full disk, made with a file size limit (RLIMIT_FSIZE: the kernel refuses writes past it
/// with EFBIG, as a full disk refuses with ENOSPC), lifted while the host runs: the host takes
/// writes again by itself, without a restart, and loses nothing.
final class DiskFullRecoveryTests: EndToEndTestCase {
    func testAHostWritesAgainOnceTheDiskHasRoom() throws {
        let prlimit = try requireTool("prlimit")
        let host = makeHost(node: 1, extra: [])
        host.useServeArguments(["--shards", "2"] + fastTicks)
        // prlimit sets the limit, then execs the host: the same process.
        let limited = HostProcess(binary: prlimit, node: 1, root: root, raftPort: host.raftPort, clientPort: host.clientPort,
                                  dataDirectory: host.dataDirectory, metricsPort: host.metricsPort)
        limited.arguments = ["--fsize=\(3 << 20):unlimited", binary] + host.arguments
        track(limited)
        try limited.start()
        try waitUntilServing([limited], shards: 2)

        guard let client = limited.connect(timeoutSeconds: 30) else { return try check(false, "cannot connect") }
        defer { client.close() }
        var acknowledged: [String: String] = [:]
        var refused = false
        for number in 0..<400 where !refused {
            let key = "big-\(number)"
            let value = "\(number)-" + String(repeating: "d", count: 60 << 10)
            let answer = client.call("PUT \(key) \(value)") ?? "(no answer)"
            if answer == "OK" {
                acknowledged[key] = value
            } else {
                try check(answer.hasPrefix("ERR TIMEOUT") || answer.hasPrefix("ERR BUSY"), "PUT \(key) answered '\(answer.prefix(200))'")
                refused = true
            }
        }
        try check(refused, "400 PUTs of 60 KiB never filled a 3 MiB file size limit")
        try waitFor("a PUT is refused with BUSY naming the full disk", timeout: 30) {
            let answer = limited.call("PUT small x") ?? ""
            return answer.hasPrefix("ERR BUSY ") && answer.contains("disk full")
        }
        try checkReadable(acknowledged, via: [limited])

        // Room again: the host resubmits what it could not write and takes writes by itself.
        guard let pid = limited.pid else { return try check(false, "the host exited while its disk was full") }
        let lift = try runTool(prlimit, ["--pid", "\(pid)", "--fsize=unlimited:unlimited"], in: root)
        try check(lift.status == 0, "prlimit --pid failed: \(lift.text)")
        _ = try callUntil(limited, "PUT small x", timeout: 30)
        try waitFor("the host logs that the store takes writes again", timeout: 10) {
            limited.log().contains("the log store takes writes again")
        }
        try checkReadable(acknowledged, via: [limited])
        try checkEqual(limited.call("GET small"), "VALUE x", "a write after the disk had room")
        // And it all survives a kill -9.
        limited.kill9()
        try host.start()
        try waitUntilServing([host], shards: 2)
        try checkReadable(acknowledged.merging(["small": "x"]) { $1 }, via: [host])
    }
}
