import Foundation
import XCTest

/// The path of an external tool the end-to-end tests drive (`openssl`, `redis-cli`,
/// `redis-benchmark`, `redis-server`, `python3`). The README's test command installs every one
/// of them (tools/install-dependencies), so a missing one fails the test, saying how to get it.
func requireTool(_ name: String) throws -> String {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    let message = "\(name) is not installed; tools/install-dependencies installs it"
    XCTFail(message)
    throw HarnessError(message)
}

/// A real redis-server on a free loopback port, without persistence: what the Redis tests
/// compare Flotilla with.
final class ReferenceRedis {
    let port: Int
    private let process: Process

    init(directory: String) throws {
        port = FreePort.next()
        process = Process()
        process.executableURL = URL(fileURLWithPath: try requireTool("redis-server"))
        process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let cli = try requireTool("redis-cli")
        let port = self.port
        guard eventually(timeout: 20, { (try? runTool(cli, ["-p", "\(port)", "PING"], in: directory, timeout: 5).stdout) == "PONG\n" }) else {
            stop()
            throw HarnessError("redis-server on port \(port) did not answer PING")
        }
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}
