import Foundation
import XCTest

/// Issue 12: the key-value state is written with the log, and a restart resumes from it. Hosts
/// are SIGKILLed at arbitrary moments while writes and non-idempotent `INCR`s are applied (one
/// host at a time, then every host at once), with snapshots taken often so that the stored
/// state, the snapshots and the log all take part. Afterwards every replica of every shard
/// holds the same data: every acknowledged write, and each counter counted once per applied
/// `INCR` (at least the acknowledged ones, at most the ones sent). A replica that applied an
/// entry twice after a restart, or lost one, would disagree.
final class StateCrashTests: EndToEndTestCase {
    func testEveryReplicaAgreesAfterKillsDuringApply() throws {
        let shards = 4
        let hosts = try startCluster(shards: shards, extra: ["--snapshot-every", "120"])
        let writer = AckedWriter(ports: hosts.map(\.clientPort), shards: shards, prefix: "state-crash")
        let counters = CounterIncrements(ports: hosts.map(\.clientPort), counters: 8)
        writer.start()
        counters.start()
        var seed = SystemRandomNumberGenerator()
        for round in 1...6 {
            let before = writer.count
            try waitFor("writes progress before kill round \(round)", timeout: 30) { writer.count >= before + 200 }
            if round % 3 == 0 {
                for host in hosts { host.kill9() }
                print("round \(round): every host killed after \(writer.count) writes, \(counters.acknowledgedTotal) increments")
                for host in hosts { try host.start() }
            } else {
                let victim = hosts[Int.random(in: 0..<hosts.count, using: &seed)]
                victim.kill9()
                print("round \(round): host \(victim.node) killed after \(writer.count) writes, \(counters.acknowledgedTotal) increments")
                try victim.start()
            }
            try waitUntilServing(hosts, shards: shards)
        }
        writer.stop()
        counters.stop()
        try check(writer.unexpectedAnswers.isEmpty, "unexpected answers to writers: \(writer.unexpectedAnswers.prefix(5))")
        try check(counters.unexpectedAnswers.isEmpty, "unexpected answers to INCR: \(counters.unexpectedAnswers.prefix(5))")

        // Every replica applies everything committed.
        try waitFor("every replica of every shard applied through the same index", timeout: 30, interval: 0.2) {
            (1...shards).allSatisfy { shard in
                let applied = hosts.map { $0.status(shard)["applied"] ?? "?" }
                let commits = hosts.map { $0.status(shard)["commit"] ?? "!" }
                return Set(applied).count == 1 && applied == commits
            }
        }
        let acknowledged = writer.writes
        for host in hosts {
            try checkEqual(mismatches(acknowledged, via: host, command: "STALE-GET") ?? ["(no answer)"], [],
                           "host \(host.node)'s replicas hold every acknowledged write")
        }
        for counter in 0..<counters.counters {
            let values = hosts.map { $0.call("STALE-GET counter-\(counter)") ?? "(no answer)" }
            try checkEqual(Set(values).count, 1, "every replica holds the same counter-\(counter): \(values)")
            let value = Int(values[0].replacingOccurrences(of: "VALUE ", with: "")) ?? -1
            let (acknowledgedCount, sentCount) = counters.counts(counter)
            try check(value >= acknowledgedCount && value <= sentCount,
                      "counter-\(counter) is \(value): between the \(acknowledgedCount) acknowledged and \(sentCount) sent increments")
        }
        print("\(acknowledged.count) writes and \(counters.acknowledgedTotal) increments acknowledged; every replica agrees")
    }
}

extension StateCrashTests {
    /// An observer catching up on a shard of several megabytes gets it by snapshot, and its
    /// stored state is replaced over several writes (`begin`, rows, `finish`); stopped and
    /// started again, it resumes from that stored state, not from the snapshot file.
    func testAnObserverCaughtUpByALargeSnapshotRestartsFromItsStoredState() throws {
        let voters = try startCluster(shards: 1, extra: ["--snapshot-every", "20"])
        let value = String(repeating: "x", count: 100_000)
        let pairs = (0..<70).map { ("large-\($0)", "\($0)-" + value) }
        try putAll(pairs, via: voters[0])
        _ = try callUntil(voters[0], "SNAPSHOT 1") { $0.hasPrefix("OK") }
        let observer = makeHost(node: 4, extra: ["--members", members(voters), "--join", "--shards", "1"] + fastTicks)
        try observer.start()
        try waitFor("host 4 answers PING", timeout: 20) { observer.call("PING", timeoutSeconds: 2) == "PONG" }
        _ = try callUntil(voters[0], "ADD-OBSERVER 1 4 \(observer.raftAddress)")
        try waitFor("host 4 holds every key", timeout: 60, interval: 0.2) {
            mismatches(Dictionary(uniqueKeysWithValues: pairs), via: observer, command: "STALE-GET")?.isEmpty == true
        }
        try check(observer.log().contains("installed snapshot"), "host 4 caught up by snapshot:\n\(observer.logTail())")
        try checkEqual(observer.terminate()?.status, 0, "host 4 stops cleanly")
        try observer.start()
        try waitFor("host 4 serves again", timeout: 20) { observer.call("PING", timeoutSeconds: 2) == "PONG" }
        try waitFor("host 4's start line", timeout: 10) { observer.log().contains("from snapshot files)") }
        let start = observer.log().components(separatedBy: "==== ").last ?? ""
        try check(start.contains("recovered 1 replicas of 1 shards") && start.contains("(1 from their stored state, 0 from snapshot files)"),
                  "host 4 restarts from its stored state:\n\(start)")
        try checkEqual(mismatches(Dictionary(uniqueKeysWithValues: pairs), via: observer, command: "STALE-GET") ?? ["(no answer)"], [],
                       "host 4's keys after the restart")
    }
}

/// A client thread sending `INCR counter-<n> 1` round robin over `counters` keys and hosts,
/// counting for each counter the increments sent and those acknowledged.
final class CounterIncrements: @unchecked Sendable {
    private let lock = NSLock()
    private var sent: [Int]
    private var acknowledged: [Int]
    private var unexpected: [String] = []
    private var stopping = false
    private let finished = DispatchGroup()
    let ports: [Int]
    let counters: Int

    init(ports: [Int], counters: Int) {
        self.ports = ports
        self.counters = counters
        sent = Array(repeating: 0, count: counters)
        acknowledged = Array(repeating: 0, count: counters)
    }

    func start() {
        finished.enter()
        Thread { [self] in
            run()
            finished.leave()
        }.start()
    }

    func stop() {
        lock.withLock { stopping = true }
        _ = finished.wait(timeout: .now() + 30)
    }

    var unexpectedAnswers: [String] { lock.withLock { unexpected } }
    var acknowledgedTotal: Int { lock.withLock { acknowledged.reduce(0, +) } }
    func counts(_ counter: Int) -> (acknowledged: Int, sent: Int) { lock.withLock { (acknowledged[counter], sent[counter]) } }

    private func run() {
        var hostIndex = 0
        var client: LineClient?
        var number = 0
        while !lock.withLock({ stopping }) {
            if client == nil {
                client = LineClient(port: ports[hostIndex % ports.count], timeoutSeconds: 15)
                if client == nil {
                    hostIndex += 1
                    Thread.sleep(forTimeInterval: 0.05)
                    continue
                }
            }
            let counter = number % counters
            lock.withLock { sent[counter] += 1 }
            guard let answer = client!.call("INCR counter-\(counter) 1") else {
                // The connection broke: the outcome is unknown, so it counts as sent only.
                client = nil
                hostIndex += 1
                number += 1
                continue
            }
            if answer.hasPrefix("VALUE ") {
                lock.withLock { acknowledged[counter] += 1 }
            } else if !(answer.hasPrefix("ERR NO_LEADER") || answer.hasPrefix("ERR TIMEOUT") || answer.hasPrefix("ERR SHUTTING_DOWN")
                        || answer.hasPrefix("ERR BUSY")) {
                lock.withLock { unexpected.append(answer) }
            }
            number += 1
        }
    }
}
