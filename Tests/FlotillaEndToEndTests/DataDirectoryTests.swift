import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// SPEC "flotilla serve": the data dir lock, the node id a data dir remembers, clean stops on
/// SIGTERM and SIGINT, and binding the same addresses again right after a SIGKILL.
final class DataDirectoryTests: EndToEndTestCase {
    func testDataDirectoryLockNodeIdentityAndSignals() throws {
        let host = makeHost(node: 1, extra: ["--shards", "4"] + fastTicks)
        try host.start()
        try waitUntilServing([host], shards: 4)
        try checkEqual(host.call("PUT kept 1"), "OK", "PUT")

        // A second host on the same data dir is refused, clearly, and the first carries on.
        let second = try runTool(binary, ["serve", "--node-id", "1", "--data-dir", host.dataDirectory,
                                          "--raft-addr", "127.0.0.1:\(FreePort.next())", "--client-addr", "127.0.0.1:\(FreePort.next())", "--redis-addr", "none",
                                          "--shards", "4"], in: root, timeout: 30)
        try check(!second.timedOut && second.status != 0, "a second host on a data dir in use: \(second.text)")
        try check(second.stderr.contains("in use") && second.stderr.contains(host.dataDirectory),
                  "the refusal should say the data dir is in use: \(second.text)")
        try checkEqual(host.call("GET kept"), "VALUE 1", "the first host after the refused second one")

        // SIGTERM: exit 0.
        let terminated = host.terminate()
        try check(terminated?.status == 0 && terminated?.bySignal == false, "exit after SIGTERM: \(String(describing: terminated))")
        try check(host.log().contains("SIGTERM"), "the log does not mention SIGTERM")

        // Another node id on this data dir is refused, clearly.
        let other = try runTool(binary, ["serve", "--node-id", "2", "--data-dir", host.dataDirectory,
                                         "--raft-addr", host.raftAddress, "--client-addr", host.clientAddress, "--redis-addr", host.redisAddress], in: root, timeout: 30)
        try check(!other.timedOut && other.status != 0, "another node id on the data dir: \(other.text)")
        try check(other.stderr.contains("node id 1") && other.stderr.contains("2"),
                  "the refusal should name the data dir's node id 1 and the requested 2: \(other.text)")

        // Restart as itself: the data is there. SIGKILL, then restart at once on the same
        // addresses: it binds them again and serves.
        try host.start()
        try waitUntilServing([host], shards: 4)
        try checkEqual(host.call("GET kept"), "VALUE 1", "GET after a clean restart")
        for round in 0..<3 {
            try checkEqual(host.call("PUT round \(round)"), "OK", "PUT before SIGKILL")
            host.kill9()
            try host.start()
            try waitUntilServing([host], shards: 4, timeout: 10)
            try checkEqual(host.call("GET round"), "VALUE \(round)", "GET after SIGKILL and an immediate restart")
        }
        try check(!host.log().contains("cannot listen"), "a restart could not bind its addresses:\n\(host.logTail())")

        // SIGINT: exit 0 too.
        guard let pid = host.pid else { return try check(false, "host not running") }
        kill(pid, SIGINT)
        let interrupted = host.waitForExit(timeout: 15)
        try check(interrupted?.status == 0 && interrupted?.bySignal == false, "exit after SIGINT: \(String(describing: interrupted))")
    }

    /// SIGTERM while clients write: the host exits 0 and every write it acknowledged survives.
    func testSIGTERMDuringWritesExitsZeroAndKeepsAcknowledgedWrites() throws {
        let hosts = try startCluster(shards: 4)
        let writer = AckedWriter(ports: hosts.map(\.clientPort), shards: 4, prefix: "sigterm")
        writer.start()
        defer { writer.stop() }
        try waitFor("100 acknowledged writes", timeout: 20) { writer.count >= 100 }
        let exit = hosts[0].terminate()
        try check(exit?.status == 0 && exit?.bySignal == false, "exit after SIGTERM under load: \(String(describing: exit))")
        let before = writer.count
        try waitFor("writes continue on the other two hosts", timeout: 15) { writer.count > before + 50 }
        writer.stop()
        try check(writer.unexpectedAnswers.isEmpty, "unexpected answers to writers: \(writer.unexpectedAnswers.prefix(5))")
        try hosts[0].start()
        try waitUntilServing(hosts, shards: 4)
        try checkReadable(writer.writes, via: hosts)
    }
}
