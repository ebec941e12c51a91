import Foundation
import XCTest

/// Issue 6, restart safety: host 4 is SIGKILLed again and again while it catches up a shard
/// (before the snapshot arrives, while it streams, between the snapshot and the log tail) with
/// client writes running, and restarted each time with a different command line. Wherever the
/// kills land, it ends as an observer holding every acknowledged write of the shard.
final class ObserverKillPointsTests: EndToEndTestCase {
    func testObserverKilledAtManyPointsOfItsCatchUp() throws {
        let shards = 2
        let shard = 1
        let snapshotEvery = ["--snapshot-every", "50"]
        let voters = try startCluster(shards: shards, extra: snapshotEvery)
        // Big enough that the snapshot takes several chunks and some milliseconds to stream.
        let blob = String(repeating: "v", count: 4_000)
        let initial = (0..<600).map { ("pre-\($0)", "\($0)-\(blob)") }
        try putAll(initial, via: voters[0])
        let writer = AckedWriter(ports: voters.map(\.clientPort), shards: shards, prefix: "during")
        writer.start(only: [shard])

        let host4 = makeHost(node: 4, extra: ["--members", members(voters), "--join", "--shards", "\(shards)"] + fastTicks + snapshotEvery)
        try host4.start()
        try waitFor("host 4 answers PING", timeout: 20) { host4.call("PING", timeoutSeconds: 2) == "PONG" }
        _ = try callUntil(voters[0], "ADD-OBSERVER \(shard) 4 \(host4.raftAddress)")

        // Kill after growing delays, restarting with alternating command lines.
        let commandLines: [[String]] = [
            ["--members", members(voters), "--join", "--shards", "\(shards)"],
            ["--members", "4=\(host4.raftAddress)"],
            ["--members", members(Array(voters.reversed())), "--shards", "9"],
        ]
        for (round, delayMilliseconds) in [5, 20, 40, 80, 160, 320].enumerated() {
            usleep(UInt32(delayMilliseconds * 1000))
            host4.kill9()
            host4.arguments = ["serve", "--node-id", "4", "--data-dir", host4.dataDirectory, "--raft-addr", host4.raftAddress,
                               "--client-addr", host4.clientAddress, "--redis-addr", host4.redisAddress] + commandLines[round % commandLines.count] + fastTicks + snapshotEvery
            try host4.start()
        }

        // Writes stop here so that catching up has a fixed target: on a loaded machine a debug
        // observer may trail a writer that never pauses.
        writer.stop()
        try waitFor("host 4 catches up as an observer", timeout: 60, interval: 0.2) {
            let leaderNode = leader(of: shard, askingHost: voters[0])
            guard (1...3).contains(leaderNode) else { return false }
            let commit = Int(voters[leaderNode - 1].status(shard)["commit"] ?? "") ?? .max
            let mine = host4.status(shard)
            return mine["role"] == "observer" && (Int(mine["applied"] ?? "") ?? 0) >= commit
        }
        try check(writer.unexpectedAnswers.isEmpty, "unexpected answers to writes: \(writer.unexpectedAnswers.prefix(3))")
        var expected = Dictionary(uniqueKeysWithValues: initial).filter { shardOf($0.key, shards: shards) == shard }
        for (key, value) in writer.writes where shardOf(key, shards: shards) == shard { expected[key] = value }
        try check(expected.count > 100, "too few keys in shard \(shard) to mean anything: \(expected.count)")
        let leaderNode = leader(of: shard, askingHost: voters[0])
        let commit = Int(voters[leaderNode - 1].status(shard)["commit"] ?? "") ?? .max
        try waitFor("host 4 applies the last writes", timeout: 30) { (Int(host4.status(shard)["applied"] ?? "") ?? 0) >= commit }
        try checkReadable(expected, via: [host4], command: "STALE-GET")
        try checkReadable(expected, via: voters)
    }
}
