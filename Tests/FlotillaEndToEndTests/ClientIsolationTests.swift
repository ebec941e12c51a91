import Foundation
import XCTest

/// Issue 5: a client sending garbage, oversized lines, never reading, or disconnecting in the
/// middle of a request disturbs no other client and no stored data.
final class ClientIsolationTests: EndToEndTestCase {
    /// Well-behaved clients: PUT then GET of fresh keys in a loop, every answer checked.
    final class GoodClients: @unchecked Sendable {
        private let lock = NSLock()
        private var failures: [String] = []
        private var written: [String: String] = [:]
        private var stopping = false
        private let done = DispatchGroup()

        func start(ports: [Int]) {
            for (index, port) in ports.enumerated() {
                done.enter()
                Thread { [self] in
                    defer { done.leave() }
                    guard let client = LineClient(port: port, timeoutSeconds: 10) else { return record("cannot connect to \(port)") }
                    var number = 0
                    while !isStopping {
                        number += 1
                        let key = "good-\(index)-\(number)"
                        let value = "value \(number) with spaces"
                        let put = client.call("PUT \(key) \(value)")
                        guard put == "OK" else { return record("PUT \(key) via \(port): \(put ?? "(no answer / closed)")") }
                        let get = client.call("GET \(key)")
                        guard get == "VALUE \(value)" else { return record("GET \(key) via \(port): \(get ?? "(no answer / closed)")") }
                        lock.lock()
                        written[key] = value
                        lock.unlock()
                    }
                }.start()
            }
        }

        var count: Int { lock.lock(); defer { lock.unlock() }; return written.count }
        var failureCount: Int { lock.lock(); defer { lock.unlock() }; return failures.count }
        var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopping }
        func record(_ failure: String) { lock.lock(); failures.append(failure); lock.unlock() }
        func stop() -> (failures: [String], written: [String: String]) {
            lock.lock()
            stopping = true
            lock.unlock()
            _ = done.wait(timeout: .now() + 30)
            lock.lock()
            defer { lock.unlock() }
            return (failures, written)
        }
    }

    func testMisbehavingClientsDisturbNoOne() throws {
        let hosts = try startCluster(shards: 4)
        let target = hosts[0]
        let good = GoodClients()
        good.start(ports: [hosts[0].clientPort, hosts[0].clientPort, hosts[1].clientPort])
        var generator = SystemRandomNumberGenerator()

        // Garbage lines: each answered with an error, the connection stays usable.
        guard let garbage = target.connect() else { return try check(false, "cannot connect") }
        var lines: [[UInt8]] = []
        for _ in 0..<200 {
            let length = Int.random(in: 1...300, using: &generator)
            lines.append((0..<length).map { _ in
                var byte = UInt8.random(in: 0...255, using: &generator)
                if byte == UInt8(ascii: "\n") { byte = 0 }
                return byte
            })
        }
        try check(garbage.send(bytes: lines.flatMap { $0 + [UInt8(ascii: "\n")] } + Array("PING\n".utf8)), "sending garbage")
        for (index, line) in lines.enumerated() {
            let answer = garbage.readLine() ?? "(closed)"
            try check(answer.hasPrefix("ERR BAD_REQUEST ") || answer.hasPrefix("ERR TOO_LARGE "),
                      "garbage line \(index) \(line.prefix(20)) answered '\(answer.prefix(120))'")
        }
        try checkEqual(garbage.readLine(), "PONG", "PING after garbage")

        // A client that pipelines thousands of requests and never reads its answers.
        guard let deaf = target.connect(timeoutSeconds: 2) else { return try check(false, "cannot connect") }
        _ = deaf.send(lines: (0..<5_000).map { "GET good-0-\($0 % 50)" })

        // Oversized lines: ERR TOO_LARGE, then closed.
        for _ in 0..<3 {
            guard let flood = target.connect() else { return try check(false, "cannot connect") }
            _ = flood.send(bytes: [UInt8](repeating: UInt8(ascii: "g"), count: (1 << 20) + 4096))
            let answer = flood.readLine() ?? "(closed)"
            try check(answer.hasPrefix("ERR TOO_LARGE "), "an oversized line answered '\(answer.prefix(120))'")
            try check(flood.isClosedByPeer(), "the oversized line's connection stayed open")
        }

        // Disconnecting in the middle of a request: half a line, half a large value, or a
        // pipelined batch whose answers are never read.
        var abandoned: [String: String] = [:]
        for index in 0..<30 {
            guard let quitter = target.connect() else { return try check(false, "cannot connect") }
            switch index % 3 {
            case 0:
                _ = quitter.send(bytes: Array("PUT half-\(index) never-fini".utf8))
            case 1:
                _ = quitter.send(bytes: Array("PUT half-big-\(index) ".utf8) + [UInt8](repeating: UInt8(ascii: "b"), count: 300_000))
            default:
                let batch = (0..<50).map { ("abandoned-\(index)-\($0)", "a\($0)") }
                for (key, value) in batch { abandoned[key] = value }
                _ = quitter.send(lines: batch.map { "PUT \($0.0) \($0.1)" })
            }
            quitter.close()
        }
        deaf.close()

        // Everyone else carried on meanwhile, and still does.
        let progress = good.count
        try waitFor("well-behaved clients keep going after the misbehaviour", timeout: 15) {
            good.count >= max(30, progress + 30) || good.failureCount > 0
        }
        let before = good.stop()
        try check(before.failures.isEmpty, "well-behaved clients were disturbed: \(before.failures.prefix(5))")
        try check(before.written.count >= 30, "well-behaved clients wrote only \(before.written.count) keys")
        for host in hosts {
            try check(host.isRunning, "host \(host.node) exited")
            try checkEqual(host.call("PING"), "PONG", "PING on host \(host.node)")
        }
        try checkReadable(before.written, via: hosts)
        // Half-sent requests were not applied; abandoned pipelined writes were applied whole or not at all.
        for index in stride(from: 0, to: 30, by: 3) {
            try checkEqual(target.call("GET half-\(index)"), "NOT_FOUND", "a half-sent PUT")
            try checkEqual(target.call("GET half-big-\(index + 1)"), "NOT_FOUND", "a half-sent large PUT")
        }
        guard let reader = hosts[2].connect() else { return try check(false, "cannot connect") }
        let keys = abandoned.keys.sorted()
        let answers = reader.pipeline(keys.map { "GET \($0)" }) ?? []
        try checkEqual(answers.count, keys.count, "answers for the abandoned keys")
        for (key, answer) in zip(keys, answers) {
            try check(answer == "NOT_FOUND" || answer == "VALUE \(abandoned[key]!)", "abandoned write \(key) reads '\(answer)'")
        }
    }
}
