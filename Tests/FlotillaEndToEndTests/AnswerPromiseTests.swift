import Foundation
import XCTest

/// What an error answer promises, checked with real processes: nine connections pipeline
/// writes of fresh keys into one shard's leader, never retrying, while the leader is stopped
/// (SIGTERM) or removed from the shard (`REMOVE`). Afterwards every key is read back. A key
/// answered `OK` must be there; a key answered with any error other than `TIMEOUT` must not
/// (those errors promise "not applied"); a `TIMEOUT` or a lost answer may go either way.
final class AnswerPromiseTests: EndToEndTestCase {
    /// Pipelines fresh keys on one connection until it breaks or `stop` is set, recording each
    /// key's answer (nil: sent but never answered).
    final class PipelinedWriter: @unchecked Sendable {
        let lock = NSLock()
        var answers: [String: String?] = [:]
        var stopping = false
        let done = DispatchGroup()

        func start(port: Int, name: String) {
            done.enter()
            Thread { [self] in
                defer { done.leave() }
                guard let client = LineClient(port: port, timeoutSeconds: 15) else { return }
                defer { client.close() }
                var next = 0
                while !isStopping {
                    let keys = (0..<20).map { "\(name)-\(next + $0)" }
                    next += keys.count
                    lock.lock()
                    for key in keys { answers[key] = .some(nil) }
                    lock.unlock()
                    guard client.send(lines: keys.map { "PUT \($0) v" }) else { return }
                    for key in keys {
                        guard let answer = client.readLine() else { return }
                        lock.lock()
                        answers[key] = answer
                        lock.unlock()
                    }
                }
            }.start()
        }

        var isStopping: Bool {
            lock.lock()
            defer { lock.unlock() }
            return stopping
        }

        func stop() {
            lock.lock()
            stopping = true
            lock.unlock()
            _ = done.wait(timeout: .now() + 30)
        }

        var acknowledgedCount: Int {
            lock.lock()
            defer { lock.unlock() }
            return answers.values.filter { $0 == "OK" }.count
        }
    }

    func testErrorsOtherThanTimeoutMeanNotAppliedWhenTheLeaderStops() throws {
        try checkPromise { hosts, leader in
            guard let pid = leader.pid else { return }
            kill(pid, SIGTERM)
            _ = leader.waitForExit(timeout: 30)
        }
    }

    func testErrorsOtherThanTimeoutMeanNotAppliedWhenTheLeaderIsRemoved() throws {
        try checkPromise { hosts, leader in
            let other = hosts.first { $0.node != leader.node }!
            _ = try callUntil(other, "REMOVE 1 \(leader.node)")
        }
    }

    func checkPromise(_ disturb: ([HostProcess], HostProcess) throws -> Void) throws {
        let hosts = try startCluster(shards: 1)
        let leaderNode = leader(of: 1, askingHost: hosts[0])
        let leader = hosts.first { $0.node == leaderNode }!
        let writer = PipelinedWriter()
        for connection in 0..<9 { writer.start(port: leader.clientPort, name: "promise-\(connection)") }
        try waitFor("writes are being acknowledged", timeout: 30) { writer.acknowledgedCount >= 500 }
        try disturb(hosts, leader)
        let acknowledgedAtDisturbance = writer.acknowledgedCount
        // Keep writing a little past the disturbance, so requests meet it at every stage.
        try waitFor("a few more answers after the disturbance", timeout: 30) {
            writer.acknowledgedCount >= acknowledgedAtDisturbance + 200 || !leader.isRunning
        }
        writer.stop()
        let survivors = hosts.filter { $0.isRunning && $0.node != leaderNode }
        try waitUntilServing(survivors, shards: 1)
        guard let reader = survivors[0].connect() else { return XCTFail("cannot connect to a survivor") }
        let answers = writer.answers
        let keys = answers.keys.sorted()
        guard let values = reader.pipeline(keys.map { "GET \($0)" }) else { return XCTFail("reading the keys back failed") }
        var broken: [String] = []
        var counts: [String: Int] = [:]
        for (key, value) in zip(keys, values) {
            let answer = answers[key]! ?? "(no answer)"
            let code = answer.hasPrefix("ERR ") ? String(answer.split(separator: " ")[1]) : answer
            counts[code, default: 0] += 1
            if answer == "OK" && value != "VALUE v" {
                broken.append("\(key): acknowledged OK but reads '\(value)'")
            } else if answer.hasPrefix("ERR ") && code != "TIMEOUT" && value != "NOT_FOUND" {
                broken.append("\(key): answered '\(answer)' (not applied) but reads '\(value)'")
            }
        }
        print("answers: \(counts.sorted { $0.key < $1.key })")
        try check(broken.isEmpty, "\(broken.count) broken promises, e.g. \(broken.prefix(5))")
        try check((counts["OK"] ?? 0) >= 500, "only \(counts["OK"] ?? 0) writes acknowledged")
    }
}
