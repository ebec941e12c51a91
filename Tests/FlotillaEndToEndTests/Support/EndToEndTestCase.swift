import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed step of an end-to-end test; thrown so that the test stops at the first failure.
struct StepFailure: Error, CustomStringConvertible {
    let description: String
}

/// Base class: real `flotilla` processes on 127.0.0.1 in a temporary directory, every child
/// SIGKILLed in `tearDown`, the log tails printed when the test failed.
class EndToEndTestCase: XCTestCase {
    var binary = ""
    var root = ""
    private var created: [HostProcess] = []
    /// Election timeouts of 200-400 ms keep the tests fast.
    let fastTicks = ["--tick-ms", "20"]

    override func setUpWithError() throws {
        try super.setUpWithError()
        signal(SIGPIPE, SIG_IGN)
        switch FlotillaBinary.locate() {
        case .success(let path): binary = path
        case .failure(let error):
            XCTFail("\(error)")
            throw error
        }
        let name = name.filter { $0.isLetter || $0.isNumber }
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("flotilla-e2e-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for host in created { host.kill9() }
        let failed = (testRun?.totalFailureCount ?? 0) > 0
        if failed {
            var report = "\n---- \(name) failed; data and logs kept in \(root) ----\n"
            for host in created {
                report += "---- host \(host.node) (client \(host.clientAddress), raft \(host.raftAddress)) log tail:\n"
                report += host.logTail(lines: 60) + "\n"
            }
            print(report)
        } else if !root.isEmpty {
            try? FileManager.default.removeItem(atPath: root)
        }
        created = []
        super.tearDown()
    }

    // MARK: hosts

    /// A host process (not started) with the standard `serve` command line plus `extra`.
    func makeHost(node: Int, extra: [String], dataDirectory: String? = nil) -> HostProcess {
        let host = HostProcess(binary: binary, node: node, root: root, dataDirectory: dataDirectory)
        host.useServeArguments(extra)
        created.append(host)
        return host
    }

    /// A host process made by the test itself (another binary in front, say), killed and
    /// reported at the end like the others.
    func track(_ host: HostProcess) { created.append(host) }

    func members(_ hosts: [HostProcess]) -> String {
        hosts.map { "\($0.node)=\($0.raftAddress)" }.joined(separator: ",")
    }

    /// Starts `nodes` hosts as the voters of a new cluster of `shards` shards and waits until
    /// every shard has a leader that every host knows.
    func startCluster(nodes: [Int] = [1, 2, 3], shards: Int, extra: [String] = []) throws -> [HostProcess] {
        let hosts = nodes.map { node in makeHost(node: node, extra: []) }
        let list = members(hosts)
        for host in hosts {
            host.useServeArguments(["--members", list, "--shards", "\(shards)"] + fastTicks + extra)
            try host.start()
        }
        try waitUntilServing(hosts, shards: shards)
        return hosts
    }

    /// Waits until every host answers PING and, for every shard, every host's STATUS names the
    /// same leader, one of `hosts`.
    func waitUntilServing(_ hosts: [HostProcess], shards: Int, timeout: Double = 30,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        try waitFor("every host answers PING", timeout: timeout, file: file, line: line) {
            hosts.allSatisfy { $0.call("PING", timeoutSeconds: 2) == "PONG" }
        }
        let nodes = Set(hosts.map(\.node))
        try waitFor("every shard has a leader known to every host", timeout: timeout, file: file, line: line) {
            (1...shards).allSatisfy { shard in
                let leaders = hosts.map { Int($0.status(shard)["leader"] ?? "") ?? 0 }
                return Set(leaders).count == 1 && nodes.contains(leaders[0])
            }
        }
    }

    /// The leader of `shard` as `host` sees it (0: none known).
    func leader(of shard: Int, askingHost host: HostProcess) -> Int {
        Int(host.status(shard)["leader"] ?? "") ?? 0
    }

    // MARK: checks

    func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
               file: StaticString = #filePath, line: UInt = #line) throws {
        if !condition() {
            let text = "\(message()) (\(URL(fileURLWithPath: "\(file)").lastPathComponent):\(line))"
            XCTFail(text, file: file, line: line)
            throw StepFailure(description: text)
        }
    }

    func checkEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: @autoclosure () -> String,
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        try check(actual == expected, "\(what()): expected \(expected), got \(actual)", file: file, line: line)
    }

    /// Polls `condition` until it holds; a failed step after `timeout` seconds.
    func waitFor(_ what: String, timeout: Double, interval: Double = 0.05,
                 file: StaticString = #filePath, line: UInt = #line, _ condition: () -> Bool) throws {
        try check(eventually(timeout: timeout, interval: interval, condition), "timed out after \(timeout) s waiting until \(what)",
                  file: file, line: line)
    }

    /// Sends `line` to `host` (fresh connection each time) until the answer satisfies `done`,
    /// retrying while it is one of the retryable errors; returns the last answer.
    func callUntil(_ host: HostProcess, _ line: String, timeout: Double = 20,
                   retryOn: [String] = ["ERR NO_LEADER", "ERR BUSY", "ERR TIMEOUT", "ERR NOT_CAUGHT_UP"],
                   file: StaticString = #filePath, sourceLine: UInt = #line,
                   _ done: (String) -> Bool = { $0 == "OK" }) throws -> String {
        var last: String? = nil
        let satisfied = eventually(timeout: timeout, interval: 0.1) {
            last = host.call(line)
            guard let answer = last else { return false }
            if done(answer) { return true }
            return false
        }
        if !satisfied, let answer = last, !retryOn.contains(where: { answer.hasPrefix($0) }) {
            try check(false, "'\(line)' on host \(host.node) answered '\(answer)'", file: file, line: sourceLine)
        }
        try check(satisfied, "'\(line)' on host \(host.node) never succeeded in \(timeout) s; last answer: \(last ?? "(no answer)")",
                  file: file, line: sourceLine)
        return last!
    }

    // MARK: data

    /// Writes every pair through `host` (pipelined); each must be acknowledged `OK`, retrying
    /// the retryable failures one by one.
    func putAll(_ pairs: [(key: String, value: String)], via host: HostProcess,
                file: StaticString = #filePath, line: UInt = #line) throws {
        guard let client = host.connect() else {
            return try check(false, "cannot connect to host \(host.node)", file: file, line: line)
        }
        defer { client.close() }
        let answers = client.pipeline(pairs.map { "PUT \($0.key) \($0.value)" })
        try check(answers != nil, "connection to host \(host.node) broke while writing", file: file, line: line)
        for (index, answer) in answers!.enumerated() where answer != "OK" {
            try check(answer.hasPrefix("ERR NO_LEADER") || answer.hasPrefix("ERR BUSY") || answer.hasPrefix("ERR TIMEOUT"),
                      "PUT \(pairs[index].key) answered '\(answer)'", file: file, line: line)
            _ = try callUntil(host, "PUT \(pairs[index].key) \(pairs[index].value)", file: file, sourceLine: line)
        }
    }

    /// Reads every key through `host` with `command` (GET or STALE-GET), pipelined; the keys
    /// whose answer differs from `VALUE <expected>`, with the answers.
    func mismatches(_ expected: [String: String], via host: HostProcess, command: String = "GET") -> [String]? {
        guard let client = host.connect() else { return nil }
        defer { client.close() }
        let keys = expected.keys.sorted()
        guard let answers = client.pipeline(keys.map { "\(command) \($0)" }) else { return nil }
        var wrong: [String] = []
        for (key, answer) in zip(keys, answers) where answer != "VALUE \(expected[key]!)" {
            // Values may be large: enough of each to tell them apart.
            wrong.append("\(key): expected 'VALUE \(expected[key]!.prefix(60))', got '\(answer.prefix(100))'")
        }
        return wrong
    }

    /// Every key reads back its value through every host with a linearizable GET.
    func checkReadable(_ expected: [String: String], via hosts: [HostProcess], command: String = "GET",
                       file: StaticString = #filePath, line: UInt = #line) throws {
        for host in hosts {
            let wrong = mismatches(expected, via: host, command: command)
            try check(wrong != nil, "connection to host \(host.node) broke while reading", file: file, line: line)
            try check(wrong!.isEmpty, "\(wrong!.count) of \(expected.count) keys read wrong through host \(host.node) with \(command), e.g. "
                      + wrong!.prefix(5).joined(separator: "; "), file: file, line: line)
        }
    }
}
