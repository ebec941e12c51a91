import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One `flotilla serve` child process on 127.0.0.1, its output appended to a log file that
/// survives restarts.
final class HostProcess: @unchecked Sendable {
    let binary: String
    let node: Int
    let raftPort: Int
    let clientPort: Int
    /// The RESP2 port: a free port of its own, so that the default (client port + 78) never
    /// lands on a port another test holds.
    let redisPort: Int
    /// `--metrics-addr`'s port: a free one, not the default client port + 200, which another
    /// test's host may hold.
    let metricsPort: Int
    let dataDirectory: String
    let logPath: String
    /// The command line (after `serve`) used by `start()` and `restart()`.
    var arguments: [String]
    private let lock = NSLock()
    private var process: Process?

    var raftAddress: String { "127.0.0.1:\(raftPort)" }
    var clientAddress: String { "127.0.0.1:\(clientPort)" }
    var redisAddress: String { "127.0.0.1:\(redisPort)" }

    init(binary: String, node: Int, root: String, raftPort: Int = FreePort.next(), clientPort: Int = FreePort.next(),
         dataDirectory: String? = nil, metricsPort: Int = FreePort.next()) {
        self.binary = binary
        self.metricsPort = metricsPort
        self.node = node
        self.raftPort = raftPort
        self.clientPort = clientPort
        redisPort = FreePort.next()
        self.dataDirectory = dataDirectory ?? "\(root)/node-\(node)"
        self.logPath = (dataDirectory ?? "\(root)/node-\(node)") + ".log"
        self.arguments = []
    }

    /// The standard command line: `serve --node-id N --data-dir D --raft-addr R --client-addr C
    /// --metrics-addr M` + `extra`.
    func useServeArguments(_ extra: [String]) {
        arguments = ["serve", "--node-id", "\(node)", "--data-dir", dataDirectory,
                     "--raft-addr", raftAddress, "--client-addr", clientAddress, "--redis-addr", redisAddress,
                     "--metrics-addr", "127.0.0.1:\(metricsPort)"] + extra
    }

    var pid: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return process?.isRunning == true ? process?.processIdentifier : nil
    }

    var isRunning: Bool { pid != nil }

    /// Starts the process with `arguments`.
    func start() throws {
        lock.lock()
        defer { lock.unlock() }
        precondition(process?.isRunning != true, "host \(node) is already running")
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        guard let log = FileHandle(forWritingAtPath: logPath) else { throw HarnessError("cannot open \(logPath)") }
        log.seekToEndOfFile()
        log.write(Data("==== \(Date()) start: flotilla \(arguments.joined(separator: " "))\n".utf8))
        let child = Process()
        child.executableURL = URL(fileURLWithPath: binary)
        child.arguments = arguments
        child.standardInput = FileHandle.nullDevice
        child.standardOutput = log
        child.standardError = log
        try child.run()
        try? log.close()
        process = child
    }

    /// SIGKILL, then waits until the process is gone.
    func kill9() {
        lock.lock()
        let child = process
        lock.unlock()
        guard let child, child.isRunning else { return }
        kill(child.processIdentifier, SIGKILL)
        _ = eventually(timeout: 10, interval: 0.01) { !child.isRunning }
        appendToLog("==== \(Date()) SIGKILL sent\n")
    }

    /// SIGTERM, then waits up to `timeout` seconds for the exit; the exit status, or nil if
    /// it did not exit in time (then it is SIGKILLed).
    func terminate(timeout: Double = 15) -> (status: Int32, bySignal: Bool)? {
        lock.lock()
        let child = process
        lock.unlock()
        guard let child, child.isRunning else { return nil }
        kill(child.processIdentifier, SIGTERM)
        guard eventually(timeout: timeout, interval: 0.01, { !child.isRunning }) else {
            kill9()
            return nil
        }
        return (child.terminationStatus, child.terminationReason == .uncaughtSignal)
    }

    /// Waits for the process to exit by itself; its status, or nil on timeout.
    func waitForExit(timeout: Double) -> (status: Int32, bySignal: Bool)? {
        lock.lock()
        let child = process
        lock.unlock()
        guard let child else { return nil }
        guard eventually(timeout: timeout, interval: 0.02, { !child.isRunning }) else { return nil }
        return (child.terminationStatus, child.terminationReason == .uncaughtSignal)
    }

    /// A fresh connection to the client port.
    func connect(timeoutSeconds: Double = 15) -> LineClient? { LineClient(port: clientPort, timeoutSeconds: timeoutSeconds) }

    /// Set for a host serving `--client-tls`: `call` (and so `status`) then speaks TLS.
    var tlsClient: TLSClientFiles?

    /// A fresh TLS connection to the client port (`openssl s_client`).
    func connectTLS(timeoutSeconds: Double = 15) -> OpenSSLLineClient? {
        guard let tls = tlsClient else { return nil }
        return OpenSSLLineClient(openssl: tls.openssl, port: clientPort, ca: tls.ca, certificate: tls.certificate, key: tls.key,
                                 timeoutSeconds: timeoutSeconds)
    }

    /// One request on a fresh connection.
    func call(_ line: String, timeoutSeconds: Double = 15) -> String? {
        if tlsClient != nil {
            guard let client = connectTLS(timeoutSeconds: timeoutSeconds) else { return nil }
            defer { client.close() }
            return client.call(line)
        }
        guard let client = connect(timeoutSeconds: timeoutSeconds) else { return nil }
        defer { client.close() }
        return client.call(line)
    }

    func status(_ shard: Int) -> [String: String] { statusFields(call("STATUS \(shard)")) }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func logTail(lines: Int = 40) -> String {
        log().split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    private func appendToLog(_ text: String) {
        guard let log = FileHandle(forWritingAtPath: logPath) else { return }
        log.seekToEndOfFile()
        log.write(Data(text.utf8))
        try? log.close()
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The result of running a short-lived `flotilla` command.
struct ToolRun {
    var status: Int32
    var timedOut: Bool
    var stdout: String
    var stderr: String
    var text: String { "exit \(status)\(timedOut ? " (timed out)" : "")\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// Runs `binary arguments` to completion (SIGKILLed after `timeout` seconds).
func runTool(_ binary: String, _ arguments: [String], in directory: String, timeout: Double = 60) throws -> ToolRun {
    let stamp = UUID().uuidString
    let outPath = "\(directory)/tool-\(stamp).out"
    let errPath = "\(directory)/tool-\(stamp).err"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
    guard let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath) else {
        throw HarnessError("cannot create output files in \(directory)")
    }
    let child = Process()
    child.executableURL = URL(fileURLWithPath: binary)
    child.arguments = arguments
    child.standardInput = FileHandle.nullDevice
    child.standardOutput = out
    child.standardError = err
    try child.run()
    try? out.close()
    try? err.close()
    let finished = eventually(timeout: timeout, interval: 0.02) { !child.isRunning }
    if !finished {
        kill(child.processIdentifier, SIGKILL)
        _ = eventually(timeout: 10, interval: 0.02) { !child.isRunning }
    }
    return ToolRun(status: finished ? child.terminationStatus : -1, timedOut: !finished,
                   stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                   stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}
