import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `tools/cluster` and `tools/add-host` as a newcomer uses them, on ports of their own: add-host
/// with the cluster down fails at once, a fourth host added is stopped, shown and wiped with the
/// others, and a killed host shows as down.
final class ClusterToolTests: EndToEndTestCase {
    var clusterDirectory = ""
    var raftBase = 0
    var clientBase = 0

    override func setUpWithError() throws {
        try super.setUpWithError()
        clusterDirectory = "\(root)/cluster"
        (raftBase, clientBase) = try freePortBases()
    }

    override func tearDown() {
        // Whatever a failed step left running.
        for node in 1...4 {
            if let text = try? String(contentsOfFile: "\(clusterDirectory)/node-\(node).pid", encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGKILL)
            }
        }
        super.tearDown()
    }

    var toolsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools").path
    }

    /// Runs a tool script with the cluster's environment.
    func tool(_ name: String, _ arguments: [String], timeout: Double = 120) throws -> ToolRun {
        let environment = ["FLOTILLA_BINARY": binary, "FLOTILLA_CLUSTER_DIR": clusterDirectory,
                           "FLOTILLA_CLUSTER_RAFT_PORT_BASE": "\(raftBase)", "FLOTILLA_CLUSTER_CLIENT_PORT_BASE": "\(clientBase)",
                           "STEP_TIMEOUT_SECONDS": "60"]
        return try runScript("\(toolsDirectory)/\(name)", arguments, environment: environment, in: root, timeout: timeout)
    }

    func pid(of node: Int) -> Int32? {
        (try? String(contentsOfFile: "\(clusterDirectory)/node-\(node).pid", encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func testClusterAndAddHost() throws {
        let help = try tool("add-host", ["--help"])
        try check(help.status == 0 && help.stdout.contains("tools/add-host [NODE_ID] [SHARDS]"), "add-host --help: \(help.text)")
        let badNode = try tool("add-host", ["four"])
        try check(badNode.status == 2 && badNode.stderr.contains("NODE_ID"), "add-host four: \(badNode.text)")

        let down = try tool("add-host", ["4", "2"], timeout: 30)
        try check(!down.timedOut && down.status != 0 && down.stderr.contains("not running"), "add-host with no cluster: \(down.text)")
        let statusDown = try tool("cluster", ["status"])
        try checkEqual(statusDown.stdout, "host 1: down\nhost 2: down\nhost 3: down\n", "status with no cluster")

        let started = try tool("cluster", ["start", "2"])
        try check(started.status == 0, "cluster start: \(started.text)")
        let add = try tool("add-host", ["4", "2"], timeout: 180)
        try check(add.status == 0 && add.stdout.contains("Host 4 is a voter of every shard"), "add-host 4 2: \(add.text)")

        let status = try tool("cluster", ["status"])
        let lines = status.stdout.split(separator: "\n")
        try check(lines.count == 4 && lines.allSatisfy { $0.contains(": up ") } && lines[3].hasPrefix("host 4: up"),
                  "status shows the four hosts up: \(status.text)")

        let killed = try tool("cluster", ["kill", "2"])
        try check(killed.status == 0, "cluster kill 2: \(killed.text)")
        let afterKill = try tool("cluster", ["status"])
        try check(afterKill.stdout.contains("host 2: down\n") && afterKill.stdout.contains("host 4: up"),
                  "status shows host 2 down: \(afterKill.text)")

        let pids = [1, 3, 4].compactMap { pid(of: $0) }
        try checkEqual(pids.count, 3, "pid files of hosts 1, 3 and 4")
        let stop = try tool("cluster", ["stop"])
        try check(stop.status == 0 && stop.stdout.contains("host 4 stopped"), "cluster stop: \(stop.text)")
        try check(pids.allSatisfy { kill($0, 0) != 0 }, "every host, the added one too, has exited after stop")

        let restart = try tool("cluster", ["restart", "4"])
        try check(restart.status == 0, "cluster restart 4: \(restart.text)")
        let restarted = pid(of: 4)
        let wipe = try tool("cluster", ["wipe"])
        try check(wipe.status == 0 && wipe.stdout.contains("host 4 stopped"), "cluster wipe: \(wipe.text)")
        try check(restarted.map { kill($0, 0) != 0 } ?? false, "wipe stopped the added host")
        try check(!FileManager.default.fileExists(atPath: clusterDirectory), "wipe deleted the cluster's data")
    }

    /// Two bases B (raft) and C (client) with B+1...B+4 and C+1...C+4 free on 127.0.0.1, and the
    /// ports a host derives from its client port (Redis +78, metrics +200), below the kernel's
    /// ephemeral range so that other tests' free ports do not land on them.
    func freePortBases() throws -> (Int, Int) {
        var bases: [Int] = []
        var candidate = 20_000 + Int.random(in: 0..<80) * 100
        while bases.count < 2 && candidate < 29_000 {
            let needed = bases.isEmpty ? [0] : [0, 78, 200]
            if (1...4).allSatisfy({ node in needed.allSatisfy { portIsFree(candidate + node + $0) } }) { bases.append(candidate) }
            candidate += 100
        }
        try check(bases.count == 2, "no free port ranges for the cluster tools")
        return (bases[0], bases[1])
    }

    func portIsFree(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
