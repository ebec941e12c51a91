import Foundation
import XCTest

/// Issue 14, kill points: a replica move is add observer, promote, hand leadership over, remove;
/// each step is recorded in the cluster map before it is taken. Here the host driving the moves
/// (the meta shard's leader, whichever it is) is SIGKILLed by a fault point exactly between two
/// steps, while `DRAIN 1` moves every replica of host 1 to host 4 with writes running: the meta
/// shard's next leader resumes the move at its recorded step, the drain finishes, no shard ever
/// shows fewer than three voters, and every acknowledged write reads back.
///
/// Host 1 leads every data shard before the drain (and leader balance is off, so it stays so),
/// so every move also hands leadership over.
final class MoveKillPointsTests: EndToEndTestCase {
    let shards = 4

    func testKilledWithTheAddingStepRecordedAndNotTaken() throws { try drainKilledAt("move-recorded-adding") }

    func testKilledWithTheObserverAddedAndPromotionNotRecorded() throws { try drainKilledAt("move-observer-added") }

    func testKilledWithThePromotionDoneAndRemovalNotRecorded() throws { try drainKilledAt("move-promoted") }

    func testKilledWithLeadershipHandedOverAndTheReplicaNotRemoved() throws { try drainKilledAt("move-leadership-handed-over") }

    func testKilledWithTheReplicaRemovedAndTheMoveNotFinished() throws { try drainKilledAt("move-replica-removed") }

    func drainKilledAt(_ point: String) throws {
        let marker = root + "/fault-fired"
        let extra = ["--fault-point", "\(point):\(marker)", "--no-leader-balance"]
        var hosts = try startCluster(nodes: [1, 2, 3], shards: shards, extra: extra)
        for shard in 1...shards { _ = try callUntil(hosts[1], "TRANSFER \(shard) 1") }
        let writer = AckedWriter(ports: hosts.map(\.clientPort), shards: shards, prefix: "kill")
        writer.start()
        hosts += try joinHosts([4], seeds: hosts, extra: extra)
        let monitor = VoterCountMonitor(ports: hosts.map(\.clientPort), shards: shards)
        monitor.start()

        let answer = try callUntil(hosts[1], "DRAIN 1") { $0.hasPrefix("OK ") }
        try check((Int(answer.dropFirst(3)) ?? 0) >= shards, "DRAIN 1 plans a move per shard: \(answer)")
        var victim: HostProcess?
        try waitFor("a host reaches \(point) and kills itself", timeout: 120, interval: 0.05) {
            victim = hosts.first { !$0.isRunning }
            return victim != nil
        }
        try check(FileManager.default.fileExists(atPath: marker), "the fault point left its marker")
        try check(victim!.log().contains("fault point \(point) reached"), "host \(victim!.node) died at the fault point: \(victim!.logTail(lines: 5))")
        // Restarted with the same command line: the marker keeps the point from firing again.
        try victim!.start()

        let drained = try waitUntilMoved(via: hosts[1], timeout: 180)
        print("\(point): host \(victim!.node) killed; after the drain: \(drained.line)")
        writer.stop()
        monitor.stop()
        try checkEqual(drained.replicas[1] ?? 0, 0, "host 1 holds nothing after the drain: \(drained.line)")
        try checkEqual(drained.replicas[4] ?? 0, shards, "host 4 took every replica of host 1: \(drained.line)")
        _ = try checkVoters(via: Array(hosts[1...]), live: [2, 3, 4], shards: shards)
        try check(monitor.sampleCount > shards, "the monitor saw the shards (\(monitor.sampleCount) samples)")
        for (shard, fewest) in monitor.fewestVoters {
            try check(fewest.count >= 3, "shard \(shard) dropped to \(fewest.count) voters: \(fewest.line)")
        }
        try check(writer.unexpectedAnswers.isEmpty, "unexpected answers to writes: \(writer.unexpectedAnswers.prefix(3))")
        try check(writer.count > 0, "writes were acknowledged during the drain")
        try checkReadable(writer.writes, via: Array(hosts[1...]))
    }
}
