import FlotillaServer
import Synchronization
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `flotilla bench` against the fake-engine server over loopback.
final class LoadGeneratorTests: XCTestCase {
    static let summaryPattern = #"^ops/s=\d+ p50_ms=\d+\.\d+ p99_ms=\d+\.\d+ p999_ms=\d+\.\d+ errors=\d+$"#

    func startServer(_ handler: any ClientRequestHandler = DictionaryHandler()) throws -> ClientProtocolServer {
        try ClientProtocolServer(configuration: .init(host: "127.0.0.1", port: 0), handler: handler)
    }

    func testBenchAgainstTheServer() throws {
        let server = try startServer()
        defer { server.shutdown() }
        var options = LoadGenerator.Options(addresses: [("127.0.0.1", server.port!)])
        options.connections = 4
        options.pipelineDepth = 8
        options.operations = 2_000
        options.readFraction = 0.5
        let result = try LoadGenerator(options: options).run { _ in }
        XCTAssertEqual(result.operations, 2_000)
        XCTAssertEqual(result.errors, 0)
        XCTAssertNotNil(result.summaryLine.range(of: Self.summaryPattern, options: .regularExpression), result.summaryLine)
        XCTAssertTrue(result.summaryLine.hasSuffix(" errors=0"))
    }

    func testRunBenchSpreadsConnectionsOverEveryAddress() async throws {
        let first = DictionaryHandler()
        let second = DictionaryHandler()
        let firstServer = try startServer(first)
        let secondServer = try startServer(second)
        defer {
            firstServer.shutdown()
            secondServer.shutdown()
        }
        var options = BenchOptions(addresses: [("127.0.0.1", firstServer.port!), ("127.0.0.1", secondServer.port!)])
        options.connections = 4
        options.pipelineDepth = 4
        options.keyCount = 10
        options.valueSizeBytes = 100
        options.readFraction = 0.25
        options.stale = true
        options.operations = 1_000
        let result = try await runBench(options) { _ in }
        XCTAssertEqual(result.operations, 1_000)
        XCTAssertEqual(result.errors, 0)
        XCTAssertGreaterThan(result.operationsPerSecond, 0)
        XCTAssertLessThanOrEqual(result.p50Milliseconds, result.p99Milliseconds)
        XCTAssertLessThanOrEqual(result.p99Milliseconds, result.p999Milliseconds)
        for handler in [first, second] {
            let stored = handler.values.withLock { $0 }
            XCTAssertFalse(stored.isEmpty, "each address got writes")
            XCTAssertTrue(stored.values.allSatisfy { $0.count == 100 }, "values of the requested size")
            XCTAssertLessThanOrEqual(stored.count, 10, "keys drawn from the key count")
        }
    }

    func testErrorAnswersAreCounted() async throws {
        let server = try startServer(RefusingHandler())
        defer { server.shutdown() }
        var options = BenchOptions(addresses: [("127.0.0.1", server.port!)])
        options.connections = 2
        options.operations = 100
        let result = try await runBench(options) { _ in }
        XCTAssertEqual(result.errors, 100)
        XCTAssertTrue(result.summaryLine.hasSuffix(" errors=100"), result.summaryLine)
    }

    /// Open loop: 20 requests at 100/s on one connection to a server that answers none until all
    /// 20 have arrived. The generator sends on schedule anyway, and the first request's latency
    /// counts from its scheduled time, so it includes the whole stall: at least the 190 ms
    /// between the first request's time and the last's (which the server had to receive
    /// before answering anything). Closed-loop load would have sent one request and waited.
    func testOpenLoopSendsOnScheduleAndCountsTheStall() async throws {
        let server = try StallingLineServer(holdUntil: 20)
        var options = BenchOptions(addresses: [("127.0.0.1", server.port)])
        options.connections = 1
        options.ratePerSecond = 100
        options.operations = 20
        let result = try await runBench(options) { _ in }
        XCTAssertEqual(result.operations, 20)
        XCTAssertEqual(result.errors, 0)
        XCTAssertEqual(server.receivedBeforeFirstAnswer, 20, "every request was sent before any answer came")
        XCTAssertGreaterThanOrEqual(result.p999Milliseconds, 189.9, result.summaryLine)
        XCTAssertLessThanOrEqual(result.p50Milliseconds, result.p999Milliseconds)
    }

    /// Open loop against the fake-engine server over several connections and threads.
    func testOpenLoopAgainstTheServer() async throws {
        let server = try startServer()
        defer { server.shutdown() }
        var options = BenchOptions(addresses: [("127.0.0.1", server.port!)])
        options.connections = 4
        options.threads = 2
        options.ratePerSecond = 2_000
        options.operations = 400
        options.readFraction = 0.5
        let result = try await runBench(options) { _ in }
        XCTAssertEqual(result.operations, 400)
        XCTAssertEqual(result.errors, 0)
        XCTAssertNotNil(result.summaryLine.range(of: Self.summaryPattern, options: .regularExpression), result.summaryLine)
    }

    /// A server that never answers: once nothing more is due, the generator waits
    /// `drainTimeoutSeconds` and counts what is still unanswered as errors instead of hanging.
    func testUnansweredRequestsBecomeErrors() async throws {
        let server = try StallingLineServer(holdUntil: Int.max)
        var options = BenchOptions(addresses: [("127.0.0.1", server.port)])
        options.connections = 1
        options.ratePerSecond = 1_000
        options.operations = 5
        options.drainTimeoutSeconds = 0.2
        do {
            let result = try await runBench(options) { _ in }
            XCTFail("no answer at all should be an error of the run, got \(result.summaryLine)")
        } catch let error as LoadGeneratorError {
            XCTAssertTrue(error.description.contains("unanswered"), error.description)
        }
    }

    /// A connect with a deadline gives an ordinary blocking socket, and a refused port is nil.
    func testATimedConnectGivesABlockingSocket() throws {
        let server = try startServer()
        let port = server.port!
        let socket = try XCTUnwrap(LoadGenerator.connect("127.0.0.1", port, timeoutMilliseconds: 5_000))
        defer { close(socket) }
        XCTAssertEqual(fcntl(socket, F_GETFL) & O_NONBLOCK, 0, "blocking again after the connect")
        XCTAssertTrue(LoadGenerator.writeAll(socket, Array("PING\n".utf8)))
        var reader = SocketLineReader(socket: socket)
        XCTAssertEqual(reader.readLine().map { String(decoding: $0, as: UTF8.self) }, "PONG")
        server.shutdown()
        XCTAssertNil(LoadGenerator.connect("127.0.0.1", port, timeoutMilliseconds: 5_000), "nothing listens any more")
    }

    func testNoServerIsAClearError() async throws {
        let server = try startServer()
        let port = server.port!
        server.shutdown()
        var options = BenchOptions(addresses: [("127.0.0.1", port)])
        options.operations = 10
        do {
            _ = try await runBench(options) { _ in }
            XCTFail("bench against a closed port succeeded")
        } catch let error as LoadGeneratorError {
            XCTAssertTrue(error.description.contains("cannot connect"), error.description)
        }
    }
}

/// Answers every request `ERR NO_LEADER`.
struct RefusingHandler: ClientRequestHandler {
    func handle(_ request: ClientRequest, completion: @escaping @Sendable (ClientResponse) -> Void) { completion(.error(.noLeader, "no leader")) }
}
