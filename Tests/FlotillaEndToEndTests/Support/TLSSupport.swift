import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a tool to completion with `input` on its standard input.
func runWithInput(_ path: String, _ arguments: [String], input: String = "", timeout: Double = 30) throws -> (status: Int32, stdout: String, stderr: String) {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: path)
    child.arguments = arguments
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    child.standardInput = stdin
    child.standardOutput = stdout
    child.standardError = stderr
    let collected = OutputCollector()
    stdout.fileHandleForReading.readabilityHandler = { collected.append(out: $0.availableData) }
    stderr.fileHandleForReading.readabilityHandler = { collected.append(err: $0.availableData) }
    try child.run()
    // A child that exits without reading its input breaks the pipe: the throwing write says
    // so instead of trapping, and the exit status tells the rest.
    try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
    try? stdin.fileHandleForWriting.close()
    if !eventually(timeout: timeout, interval: 0.01, { !child.isRunning }) {
        kill(child.processIdentifier, SIGKILL)
        _ = eventually(timeout: 10, interval: 0.01) { !child.isRunning }
    }
    stdout.fileHandleForReading.readabilityHandler = nil
    stderr.fileHandleForReading.readabilityHandler = nil
    collected.append(out: (try? stdout.fileHandleForReading.readToEnd()) ?? Data())
    collected.append(err: (try? stderr.fileHandleForReading.readToEnd()) ?? Data())
    return (child.isRunning ? -1 : child.terminationStatus, collected.out, collected.err)
}

final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var outBytes = Data()
    private var errBytes = Data()
    func append(out data: Data) { lock.lock(); outBytes.append(data); lock.unlock() }
    func append(err data: Data) { lock.lock(); errBytes.append(data); lock.unlock() }
    var out: String { lock.lock(); defer { lock.unlock() }; return String(decoding: outBytes, as: UTF8.self) }
    var err: String { lock.lock(); defer { lock.unlock() }; return String(decoding: errBytes, as: UTF8.self) }
}

/// Test certificates made with the `openssl` command, with the file names `flotilla certs`
/// writes (`ca.pem`, `ca-key.pem`, `host-<n>.pem`, `host-<n>-key.pem`): host certificates for
/// IP 127.0.0.1 and DNS localhost, usable as server and as client.
struct TestCertificates {
    let openssl: String
    let directory: String

    var ca: String { "\(directory)/ca.pem" }
    var caKey: String { "\(directory)/ca-key.pem" }
    func certificate(_ node: Int) -> String { "\(directory)/host-\(node).pem" }
    func key(_ node: Int) -> String { "\(directory)/host-\(node)-key.pem" }

    /// A new CA in `directory`.
    static func make(in directory: String, name: String = "flotilla-test-ca") throws -> TestCertificates {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(openssl: try requireTool("openssl"), directory: directory)
        try certificates.run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                              "-keyout", certificates.caKey, "-out", certificates.ca, "-days", "30", "-subj", "/CN=\(name)"])
        return certificates
    }

    /// The flags for host `node`.
    func serveFlags(_ node: Int) -> [String] {
        ["--tls-cert", certificate(node), "--tls-key", key(node), "--tls-ca", ca]
    }

    /// Writes `host-<node>.pem` and its key, signed by this CA; `days` -1 makes it expired.
    @discardableResult
    func makeHost(_ node: Int, serial: Int, days: Int = 30, to certificatePath: String? = nil, keyPath: String? = nil) throws -> String {
        let certificatePath = certificatePath ?? certificate(node)
        let keyPath = keyPath ?? key(node)
        let request = "\(directory)/host-\(node)-\(serial).csr"
        let extensions = "\(directory)/host-ext.cnf"
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
            .write(toFile: extensions, atomically: true, encoding: .utf8)
        // Written beside and renamed over, so that a reload never reads half a file.
        try run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", keyPath + ".new", "-out", request, "-subj", "/CN=host-\(node)"])
        try run(["x509", "-req", "-in", request, "-CA", ca, "-CAkey", caKey, "-set_serial", String(format: "0x%X", serial),
                 "-days", "\(days)", "-extfile", extensions, "-out", certificatePath + ".new"])
        _ = rename(keyPath + ".new", keyPath)
        _ = rename(certificatePath + ".new", certificatePath)
        return String(format: "%X", serial)
    }

    func run(_ arguments: [String]) throws {
        let result = try runWithInput(openssl, arguments)
        guard result.status == 0 else { throw HarnessError("openssl \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
    }
}

/// A line-protocol client over `openssl s_client -quiet` (the real TLS client of Debian's
/// openssl), presenting `certificate`: one process per connection, lines in, lines out.
final class OpenSSLLineClient: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let condition = NSCondition()
    private var buffer: [UInt8] = []
    private var ended = false
    let timeoutSeconds: Double

    init?(openssl: String, port: Int, ca: String, certificate: String?, key: String?, timeoutSeconds: Double = 15) {
        self.timeoutSeconds = timeoutSeconds
        process.executableURL = URL(fileURLWithPath: openssl)
        var arguments = ["s_client", "-quiet", "-connect", "127.0.0.1:\(port)", "-CAfile", ca, "-verify_return_error"]
        if let certificate, let key { arguments += ["-cert", certificate, "-key", key] }
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.condition.lock()
            if data.isEmpty { self.ended = true } else { self.buffer.append(contentsOf: data) }
            self.condition.broadcast()
            self.condition.unlock()
        }
        do { try process.run() } catch { return nil }
    }

    deinit { close() }

    /// False when `openssl s_client` has exited, also when it exits between the check and
    /// the write: the pipe is then broken, and the throwing write reports it (the
    /// non-throwing `write(_:)` traps on EPIPE, which took the whole test process down once
    /// on a busy machine, in `waitUntilServing`'s polling).
    func send(_ line: String) -> Bool {
        guard process.isRunning else { return false }
        do {
            try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
        } catch {
            return false
        }
        return true
    }

    /// The next line, or nil at end of output or after the timeout.
    func readLine() -> String? {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[0..<newline], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return line.hasSuffix("\r") ? String(line.dropLast()) : line
            }
            if ended { return nil }
            if !condition.wait(until: deadline) { return nil }
        }
    }

    /// Whether the output ends (the peer closed the connection, so `openssl s_client` exited)
    /// within `timeoutSeconds`; anything read meanwhile is discarded.
    func waitUntilEnded(timeoutSeconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        condition.lock()
        defer { condition.unlock() }
        while !ended {
            buffer.removeAll()
            if !condition.wait(until: deadline) { return ended }
        }
        return true
    }

    func call(_ line: String) -> String? {
        guard send(line) else { return nil }
        return readLine()
    }

    /// Sends every line, then reads one answer per line.
    func pipeline(_ lines: [String]) -> [String]? {
        guard send(lines.joined(separator: "\n")) else { return nil }
        var answers: [String] = []
        for _ in lines {
            guard let answer = readLine() else { return nil }
            answers.append(answer)
        }
        return answers
    }

    func close() {
        output.fileHandleForReading.readabilityHandler = nil
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// The client side of `--client-tls` for a `HostProcess`: `call` and `status` go through
/// `openssl s_client` with these files.
struct TLSClientFiles: Sendable {
    var openssl: String
    var ca: String
    var certificate: String
    var key: String
}

/// One sample's value from a Prometheus scrape (`name` with its labels, as printed).
func metricValue(_ scrape: String, _ name: String) -> Double? {
    for line in scrape.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.split(separator: " ").last ?? "")
    }
    return nil
}
