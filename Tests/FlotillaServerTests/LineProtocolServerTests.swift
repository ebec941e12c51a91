import FlotillaServer
import Foundation
import Synchronization
import XCTest

/// The server over real sockets on 127.0.0.1 (ephemeral ports), with a fake engine behind it.
final class LineProtocolServerTests: XCTestCase {
    func startServer(_ handler: any ClientRequestHandler, port: Int = 0, inflightPerConnection: Int = 1024,
                     serverInflight: Int = 65_536) throws -> ClientProtocolServer {
        var configuration = ClientProtocolServer.Configuration(host: "127.0.0.1", port: port)
        configuration.connectionInflightRequestsMax = inflightPerConnection
        configuration.serverInflightRequestsMax = serverInflight
        return try ClientProtocolServer(configuration: configuration, handler: handler)
    }

    func testEveryCommandAndErrorCodeOverASocket() throws {
        let server = try startServer(DictionaryHandler())
        defer { server.shutdown() }
        let client = try TestClient(port: server.port!)
        XCTAssertEqual(client.call("PING"), "PONG")
        XCTAssertEqual(client.call("PUT k hello world"), "OK")
        XCTAssertEqual(client.call("GET k"), "VALUE hello world")
        XCTAssertEqual(client.call("STALE-GET k"), "VALUE hello world")
        XCTAssertEqual(client.call("CAS k nope x"), "MISMATCH")
        XCTAssertEqual(client.call("PUT k v1"), "OK")
        XCTAssertEqual(client.call("cas k v1 v2"), "OK")
        XCTAssertEqual(client.call("get k"), "VALUE v2")
        XCTAssertEqual(client.call("PUT e "), "OK")
        XCTAssertEqual(client.call("GET e"), "VALUE ", "an empty value")
        XCTAssertEqual(client.call("DEL k"), "OK")
        XCTAssertEqual(client.call("GET k"), "NOT_FOUND")
        XCTAssertEqual(client.call("SHARD a"), "SHARD \(shardOf(key: Array("a".utf8), shardCount: 16))")
        XCTAssertEqual(client.call("STATUS 3"), "shard=3 replica=1 role=leader leader=1")
        XCTAssertEqual(client.call("ADD-OBSERVER 1 4 host-4:7104"), "OK")
        XCTAssertEqual(client.call("REMOVE 1 4"), "OK")
        XCTAssertEqual(client.call("TRANSFER 1 2"), "OK")
        XCTAssertEqual(client.call("SNAPSHOT 1"), "OK 7")
        XCTAssertEqual(client.call("EXPORT 1 /d"), "OK 7 /d/shard-1.snapshot")
        // Every error code.
        XCTAssertTrue(client.call("")!.hasPrefix("ERR BAD_REQUEST "))
        XCTAssertTrue(client.call("NONSENSE")!.hasPrefix("ERR BAD_REQUEST "))
        XCTAssertTrue(client.call("PUT k")!.hasPrefix("ERR BAD_REQUEST "))
        XCTAssertTrue(client.call("GET \(String(repeating: "k", count: 1025))")!.hasPrefix("ERR TOO_LARGE "))
        XCTAssertTrue(client.call("PUT k \(String(repeating: "v", count: (1 << 20) + 1))")!.hasPrefix("ERR TOO_LARGE "))
        XCTAssertEqual(client.call("STATUS 99"), "ERR UNKNOWN_SHARD no shard 99")
        XCTAssertEqual(client.call("SNAPSHOT 2"), "ERR NO_LEADER shard 2 has no leader")
        XCTAssertEqual(client.call("EXPORT 2 /d"), "ERR TIMEOUT no answer in time")
        XCTAssertEqual(client.call("PROMOTE 1 4"), "ERR NOT_CAUGHT_UP behind by 10 entries")
        XCTAssertEqual(client.call("PROMOTE 2 4"), "ERR BUSY slow down")
        XCTAssertEqual(client.call("REMOVE 2 4"), "ERR SHUTTING_DOWN stopping")
        XCTAssertEqual(client.call("TRANSFER 2 4"), "ERR INTERNAL a bug")
        XCTAssertEqual(client.call("PING"), "PONG", "bad requests do not close the connection")
    }

    func testBinaryValueRoundTripsAndCarriageReturnLineEndsAreAccepted() throws {
        let server = try startServer(DictionaryHandler())
        defer { server.shutdown() }
        let client = try TestClient(port: server.port!)
        let value: [UInt8] = (0...255).map(UInt8.init).filter { $0 != 10 && $0 != 13 }
        client.send(bytes: Array("PUT bin ".utf8) + value + Array("\r\n".utf8))
        XCTAssertEqual(client.line(), "OK")
        client.send("GET bin\r\n")
        XCTAssertEqual(client.lineBytes(), Array("VALUE ".utf8) + value)
        XCTAssertTrue(client.call("PUT k a\rb")!.hasPrefix("ERR BAD_REQUEST "), "a value may not hold a carriage return")
    }

    func testPipelinedAnswersComeBackInOrderEvenWhenCompletedOutOfOrder() throws {
        let handler = DictionaryHandler(gatedKeys: ["a", "b"])
        handler.values.withLock { $0 = [Array("a".utf8): Array("1".utf8), Array("b".utf8): Array("2".utf8)] }
        let server = try startServer(handler)
        defer { server.shutdown() }
        let client = try TestClient(port: server.port!)
        client.send("GET a\nGET b\nPUT c 3\nGET c\nPING\n")
        XCTAssertTrue(handler.gate("a").waitForArrival())
        XCTAssertTrue(handler.gate("b").waitForArrival())
        // b is carried out before a; c and PING are not held at all.
        handler.gate("b").open()
        XCTAssertTrue(handler.gate("b").waitForDeparture())
        handler.gate("a").open()
        XCTAssertEqual(client.line(), "VALUE 1")
        XCTAssertEqual(client.line(), "VALUE 2")
        XCTAssertEqual(client.line(), "OK")
        XCTAssertEqual(client.line(), "VALUE 3")
        XCTAssertEqual(client.line(), "PONG")
    }

    func testSameKeyRequestsRunInTheOrderSent() throws {
        let server = try startServer(DictionaryHandler())
        defer { server.shutdown() }
        let client = try TestClient(port: server.port!)
        var script = ""
        for number in 0..<200 { script += "PUT k \(number)\nGET k\n" }
        client.send(script)
        for number in 0..<200 {
            XCTAssertEqual(client.line(), "OK")
            XCTAssertEqual(client.line(), "VALUE \(number)")
        }
    }

    func testManyPipelinedRequestsPastTheConnectionLimitAreAllAnswered() throws {
        let server = try startServer(DictionaryHandler(), inflightPerConnection: 4)
        defer { server.shutdown() }
        let client = try TestClient(port: server.port!)
        var script = ""
        for number in 0..<2_000 { script += "PUT k\(number % 50) \(number)\nSHARD k\(number)\n" }
        client.send(script)
        for number in 0..<2_000 {
            XCTAssertEqual(client.line(), "OK")
            XCTAssertEqual(client.line(), "SHARD \(shardOf(key: Array("k\(number)".utf8), shardCount: 16))")
        }
    }

    func testOversizedLineIsAnsweredAfterEarlierRequestsThenClosed() throws {
        let handler = DictionaryHandler(gatedKeys: ["slow"])
        let server = try startServer(handler)
        defer { server.shutdown() }
        let client = try TestClient(port: server.port!)
        client.send("GET slow\n")
        XCTAssertTrue(handler.gate("slow").waitForArrival())
        client.send(bytes: [UInt8](repeating: UInt8(ascii: "x"), count: LineProtocolLimits.lineBytesMax + 100_000))
        handler.gate("slow").open()
        XCTAssertEqual(client.line(), "NOT_FOUND")
        XCTAssertTrue(client.line()?.hasPrefix("ERR TOO_LARGE ") ?? false)
        XCTAssertNil(client.line(), "the connection is closed")
        let other = try TestClient(port: server.port!)
        XCTAssertEqual(other.call("PING"), "PONG", "other clients are not disturbed")
    }

    func testClientThatFinishedSendingGetsEveryAnswer() throws {
        let handler = DictionaryHandler(gatedKeys: ["slow"])
        let server = try startServer(handler)
        defer { server.shutdown() }
        let client = try TestClient(port: server.port!)
        client.send("PUT a 1\nGET a\nGET slow\n")
        client.finishSending()
        XCTAssertTrue(handler.gate("slow").waitForArrival())
        handler.gate("slow").open()
        XCTAssertEqual(client.line(), "OK")
        XCTAssertEqual(client.line(), "VALUE 1")
        XCTAssertEqual(client.line(), "NOT_FOUND")
        XCTAssertNil(client.line(), "then the server closes")
    }

    func testGarbageAndAbruptDisconnectsDisturbNoOne() throws {
        let server = try startServer(DictionaryHandler())
        defer { server.shutdown() }
        let good = try TestClient(port: server.port!)
        XCTAssertEqual(good.call("PUT a 1"), "OK")
        do {
            let garbage = try TestClient(port: server.port!)
            var bytes: [UInt8] = []
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<100_000 { bytes.append(UInt8.random(in: 0...255, using: &generator)) }
            garbage.send(bytes: bytes)
            garbage.send("\nPING\n")
            // Every garbage line gets its error; the connection survives all of them.
            while let line = garbage.line(), line != "PONG" {
                XCTAssertTrue(line.hasPrefix("ERR BAD_REQUEST ") || line.hasPrefix("ERR TOO_LARGE "), line)
            }
            let half = try TestClient(port: server.port!)
            half.send("PUT b half-a-requ")
        }
        XCTAssertEqual(good.call("GET a"), "VALUE 1")
        XCTAssertEqual(good.call("GET b"), "NOT_FOUND", "a half-sent request is never carried out")
    }

    func testClientDisconnectingWithARequestInFlightDisturbsNoOne() throws {
        let handler = DictionaryHandler(gatedKeys: ["slow"])
        let server = try startServer(handler)
        defer { server.shutdown() }
        do {
            let leaving = try TestClient(port: server.port!)
            leaving.send("PUT slow 1\nPING\n")
            XCTAssertTrue(handler.gate("slow").waitForArrival())
        }
        let staying = try TestClient(port: server.port!)
        XCTAssertEqual(staying.call("PING"), "PONG")
        handler.gate("slow").open()
        XCTAssertTrue(handler.gate("slow").waitForDeparture())
        XCTAssertEqual(staying.call("GET slow"), "VALUE 1", "the request received before the disconnect was carried out")
        XCTAssertEqual(staying.call("PING"), "PONG")
    }

    func testServerWideLimitAnswersBusy() throws {
        let handler = DictionaryHandler(gatedKeys: ["slow"])
        let server = try startServer(handler, serverInflight: 2)
        defer { server.shutdown() }
        let first = try TestClient(port: server.port!)
        first.send("GET slow\n")
        let second = try TestClient(port: server.port!)
        second.send("GET slow\n")
        XCTAssertTrue(handler.gate("slow").waitForArrival())
        XCTAssertTrue(handler.gate("slow").waitForArrival())
        let third = try TestClient(port: server.port!)
        XCTAssertTrue(third.call("PING")?.hasPrefix("ERR BUSY ") ?? false)
        handler.gate("slow").open()
        XCTAssertEqual(first.line(), "NOT_FOUND")
        XCTAssertEqual(second.line(), "NOT_FOUND")
        XCTAssertEqual(third.call("PING"), "PONG")
    }

    func testGracefulShutdownFinishesRequestsInFlightAndRefusesNewOnes() throws {
        let handler = DictionaryHandler(gatedKeys: ["slow"])
        let server = try startServer(handler)
        let port = server.port!
        let busy = try TestClient(port: port)
        busy.send("PUT slow 1\n")
        XCTAssertTrue(handler.gate("slow").waitForArrival())
        let idle = try TestClient(port: port)
        XCTAssertEqual(idle.call("PING"), "PONG")

        let outcome = Mutex<Bool?>(nil)
        let finished = DispatchSemaphore(value: 0)
        Task {
            let drained = await server.shutdownGracefully(drainTimeoutSeconds: 30)
            outcome.withLock { $0 = drained }
            finished.signal()
        }
        XCTAssertNil(idle.line(), "an idle connection is closed at once")
        idle.disconnect()
        XCTAssertThrowsError(try TestClient(port: port), "no new connections")
        // A request sent after the drain began is never carried out: it is refused, or, when it
        // reaches the server only after the last answer went out, dropped with the connection.
        busy.send("PUT late 1\n")
        handler.gate("slow").open()
        XCTAssertEqual(busy.line(), "OK", "the request in flight is answered")
        if let refusal = busy.line() {
            XCTAssertTrue(refusal.hasPrefix("ERR SHUTTING_DOWN "), refusal)
            XCTAssertNil(busy.line(), "then the connection is closed")
        }
        busy.disconnect()
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(outcome.withLock { $0 }, true)
        XCTAssertEqual(handler.values.withLock { $0[Array("slow".utf8)] }, Array("1".utf8))
        XCTAssertNil(handler.values.withLock { $0[Array("late".utf8)] })
    }

    func testGracefulShutdownGivesUpOnAHandlerThatNeverAnswers() async throws {
        let handler = DictionaryHandler(gatedKeys: ["stuck"])
        let server = try startServer(handler)
        let client = try TestClient(port: server.port!)
        client.send("GET stuck\n")
        await handler.gate("stuck").arrivals(1)
        let drained = await server.shutdownGracefully(drainTimeoutSeconds: 0.2)
        XCTAssertFalse(drained, "the stuck request kept its connection open until the timeout")
        XCTAssertEqual(server.connectionCount, 0, "then it was closed anyway")
        // The late answer has no event loop to go to any more, and is dropped.
        handler.gate("stuck").open()
        XCTAssertTrue(handler.gate("stuck").waitForDeparture())
        XCTAssertNil(client.line())
        server.shutdown()
        let again = await server.shutdownGracefully()
        XCTAssertTrue(again, "shutting down twice is harmless")
    }

    func testRestartedServerBindsTheSamePortAgainAtOnce() throws {
        let first = try startServer(DictionaryHandler())
        let port = first.port!
        let client = try TestClient(port: port)
        XCTAssertEqual(client.call("PING"), "PONG")
        // The server closes first, so its side of the connection is left in TIME_WAIT.
        first.shutdown()
        first.shutdown()
        first.stopAccepting()
        XCTAssertNil(client.line())
        let second = try startServer(DictionaryHandler(), port: port)
        defer { second.shutdown() }
        XCTAssertEqual(try TestClient(port: port).call("PING"), "PONG")
    }
}
