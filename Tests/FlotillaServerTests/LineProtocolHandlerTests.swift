import FlotillaServer
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import XCTest

/// A handler over an in-memory dictionary, for the server tests.
final class DictionaryHandler: ClientRequestHandler {
    let values = Mutex<[[UInt8]: [UInt8]]>([:])
    /// Requests on this key wait until released: lets a test complete requests out of order.
    let gate = Mutex<[CheckedContinuation<Void, Never>]>([])
    let gatedKey: [UInt8]?

    init(gatedKey: [UInt8]? = nil) { self.gatedKey = gatedKey }

    func releaseGate() {
        let waiting = gate.withLock { gate -> [CheckedContinuation<Void, Never>] in
            defer { gate = [] }
            return gate
        }
        for continuation in waiting { continuation.resume() }
    }

    var gatedCount: Int { gate.withLock { $0.count } }

    func handle(_ request: ClientRequest) async -> ClientResponse {
        if let gatedKey, case .get(let key) = request, key == gatedKey {
            await withCheckedContinuation { continuation in gate.withLock { $0.append(continuation) } }
        }
        switch request {
        case .put(let key, let value):
            values.withLock { $0[key] = value }
            return .ok
        case .get(let key), .staleGet(let key):
            return values.withLock { $0[key] }.map(ClientResponse.value) ?? .notFound
        case .delete(let key):
            values.withLock { $0[key] = nil }
            return .ok
        case .compareAndSet(let key, let expected, let new):
            return values.withLock { values in
                guard values[key] == expected else { return .mismatch }
                values[key] = new
                return .ok
            }
        case .shard(let key): return .shard(shardOf(key: key, shardCount: 16))
        case .ping: return .pong
        case .status(let shard): return shard <= 16 ? .status("shard=\(shard)") : .error(.unknownShard, "no such shard")
        case .snapshot: return .okIndex(7)
        case .export(_, let directory): return .exported(index: 7, file: directory + "/file")
        case .promote: return .error(.notCaughtUp, "behind by 10 entries")
        case .addObserver, .remove, .transfer: return .ok
        }
    }
}

final class LineProtocolServerTests: XCTestCase {
    func startServer(_ handler: any ClientRequestHandler, inflightPerConnection: Int = 1024, serverInflight: Int = 65_536) throws -> LineProtocolServer {
        var configuration = LineProtocolServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.connectionInflightRequestsMax = inflightPerConnection
        configuration.serverInflightRequestsMax = serverInflight
        return try LineProtocolServer(configuration: configuration, handler: handler)
    }

    final class Client {
        let socket: Int32
        var buffer: [UInt8] = []
        init(port: Int) throws {
            guard let socket = LoadGenerator.connect("127.0.0.1", port) else { throw CancellationError() }
            self.socket = socket
        }
        deinit { close(socket) }
        func send(_ text: String) { _ = LoadGenerator.writeAll(socket, Array(text.utf8)) }
        func send(bytes: [UInt8]) { _ = LoadGenerator.writeAll(socket, bytes) }
        /// One answer line, or nil when the server closed the connection.
        func line() -> String? {
            while true {
                if let newline = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[0..<newline], as: UTF8.self)
                    buffer.removeFirst(newline + 1)
                    return line
                }
                var chunk = [UInt8](repeating: 0, count: 65536)
                let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return nil }
                buffer += chunk[0..<count]
            }
        }
        func call(_ text: String) -> String? {
            send(text + "\n")
            return line()
        }
    }

    func testEveryCommandAndErrorOverASocket() throws {
        let server = try startServer(DictionaryHandler())
        defer { server.shutdown() }
        let client = try Client(port: server.port!)
        XCTAssertEqual(client.call("PING"), "PONG")
        XCTAssertEqual(client.call("PUT k hello world"), "OK")
        XCTAssertEqual(client.call("GET k"), "VALUE hello world")
        XCTAssertEqual(client.call("STALE-GET k"), "VALUE hello world")
        XCTAssertEqual(client.call("CAS k nope x"), "MISMATCH")
        XCTAssertEqual(client.call("DEL k"), "OK")
        XCTAssertEqual(client.call("GET k"), "NOT_FOUND")
        XCTAssertEqual(client.call("SHARD a"), "SHARD \(shardOf(key: Array("a".utf8), shardCount: 16))")
        XCTAssertEqual(client.call("STATUS 3"), "shard=3")
        XCTAssertEqual(client.call("STATUS 99"), "ERR UNKNOWN_SHARD no such shard")
        XCTAssertEqual(client.call("SNAPSHOT 1"), "OK 7")
        XCTAssertEqual(client.call("EXPORT 1 /d"), "OK 7 /d/file")
        XCTAssertEqual(client.call("PROMOTE 1 4"), "ERR NOT_CAUGHT_UP behind by 10 entries")
        XCTAssertEqual(client.call("ADD-OBSERVER 1 4 h:1"), "OK")
        XCTAssertTrue(client.call("")!.hasPrefix("ERR BAD_REQUEST"))
        XCTAssertTrue(client.call("NONSENSE")!.hasPrefix("ERR BAD_REQUEST"))
        XCTAssertTrue(client.call("GET \(String(repeating: "k", count: 2000))")!.hasPrefix("ERR TOO_LARGE"))
        XCTAssertEqual(client.call("PING"), "PONG", "bad requests do not close the connection")
    }

    func testPipelinedAnswersComeBackInOrderEvenWhenCompletedOutOfOrder() throws {
        let handler = DictionaryHandler(gatedKey: Array("slow".utf8))
        let server = try startServer(handler)
        defer { server.shutdown() }
        let client = try Client(port: server.port!)
        client.send("PUT fast 1\nGET slow\nGET fast\nPING\n")
        // Let the later requests finish first, then release the gated one.
        let deadline = Date().addingTimeInterval(10)
        while handler.gatedCount == 0 && Date() < deadline { usleep(1_000) }
        XCTAssertEqual(handler.gatedCount, 1)
        handler.releaseGate()
        XCTAssertEqual(client.line(), "OK")
        XCTAssertEqual(client.line(), "NOT_FOUND")
        XCTAssertEqual(client.line(), "VALUE 1")
        XCTAssertEqual(client.line(), "PONG")
    }

    func testSameKeyRequestsRunInTheOrderSent() throws {
        let server = try startServer(DictionaryHandler())
        defer { server.shutdown() }
        let client = try Client(port: server.port!)
        var script = ""
        for number in 0..<200 { script += "PUT k \(number)\nGET k\n" }
        client.send(script)
        for number in 0..<200 {
            XCTAssertEqual(client.line(), "OK")
            XCTAssertEqual(client.line(), "VALUE \(number)")
        }
    }

    func testOversizedLineIsAnsweredAfterEarlierRequestsThenClosed() throws {
        let server = try startServer(DictionaryHandler())
        defer { server.shutdown() }
        let client = try Client(port: server.port!)
        client.send("PING\n")
        client.send(bytes: [UInt8](repeating: UInt8(ascii: "x"), count: LineProtocolLimits.lineBytesMax + 10))
        XCTAssertEqual(client.line(), "PONG")
        XCTAssertTrue(client.line()?.hasPrefix("ERR TOO_LARGE") ?? false)
        XCTAssertNil(client.line(), "the connection is closed")
        let other = try Client(port: server.port!)
        XCTAssertEqual(other.call("PING"), "PONG", "other clients are not disturbed")
    }

    func testGarbageAndAbruptDisconnectsDisturbNoOne() throws {
        let server = try startServer(DictionaryHandler())
        defer { server.shutdown() }
        let good = try Client(port: server.port!)
        XCTAssertEqual(good.call("PUT a 1"), "OK")
        do {
            let garbage = try Client(port: server.port!)
            var bytes: [UInt8] = []
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<100_000 { bytes.append(UInt8.random(in: 0...255, using: &generator)) }
            garbage.send(bytes: bytes)
            let half = try Client(port: server.port!)
            half.send("PUT b half-a-requ")
        }
        XCTAssertEqual(good.call("GET a"), "VALUE 1")
        XCTAssertEqual(good.call("GET b"), "NOT_FOUND")
    }

    func testServerWideLimitAnswersBusy() throws {
        let handler = DictionaryHandler(gatedKey: Array("slow".utf8))
        let server = try startServer(handler, serverInflight: 2)
        defer { server.shutdown() }
        let first = try Client(port: server.port!)
        first.send("GET slow\n")
        let second = try Client(port: server.port!)
        second.send("GET slow\n")
        let deadline = Date().addingTimeInterval(10)
        while handler.gatedCount < 2 && Date() < deadline { usleep(1_000) }
        let third = try Client(port: server.port!)
        XCTAssertTrue(third.call("PING")?.hasPrefix("ERR BUSY") ?? false)
        handler.releaseGate()
        XCTAssertEqual(first.line(), "NOT_FOUND")
        XCTAssertEqual(third.call("PING"), "PONG")
    }

    func testBenchAgainstTheServer() throws {
        let server = try startServer(DictionaryHandler())
        defer { server.shutdown() }
        var options = LoadGenerator.Options(addresses: [("127.0.0.1", server.port!)])
        options.connections = 4
        options.pipelineDepth = 8
        options.operations = 2_000
        options.readFraction = 0.5
        let result = try LoadGenerator(options: options).run { _ in }
        XCTAssertEqual(result.operations, 2_000)
        XCTAssertEqual(result.errors, 0)
        let pattern = #"^ops/s=\d+ p50_ms=\d+\.\d+ p99_ms=\d+\.\d+ p999_ms=\d+\.\d+ errors=0$"#
        XCTAssertNotNil(result.summaryLine.range(of: pattern, options: .regularExpression), result.summaryLine)
    }
}
