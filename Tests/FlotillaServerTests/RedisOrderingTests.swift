import FlotillaEventLoop
@testable import FlotillaServer
import NIOCore
import NIOEmbedded
import XCTest

/// What a Redis connection orders: a keyspace-wide read (`DBSIZE`, `SCAN`) waits for every
/// earlier request and holds back the later ones, so a pipelined `SET` then `DBSIZE` counts the
/// key as one Redis would; an `MSET` naming a key twice leaves its last value even when the
/// engine carries out its puts in another order; a multi-key command takes one of the server's
/// in-flight slots per key.
final class RedisOrderingTests: XCTestCase {
    func makeChannel(_ handler: HeldWritesHandler, serverInflightMax: Int = 1_024) async throws -> NIOAsyncTestingChannel {
        let channel = NIOAsyncTestingChannel()
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandler(
                PipelinedConnectionHandler(session: RedisSession(handler: handler, clientID: 1), inflightRequestsMax: 64,
                                           serverInflight: ServerInflight(maximum: serverInflightMax),
                                           mailbox: EventLoopMailbox(eventLoop: channel.testingEventLoop)))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        return channel
    }

    func commands(_ commands: [[String]]) -> ByteBuffer {
        ByteBuffer(bytes: commands.flatMap { RESPValue.array($0.map { .bulk($0) }).bytes })
    }

    /// The next `count` answers, as text.
    func answers(_ channel: NIOAsyncTestingChannel, _ count: Int) async throws -> String {
        var text = ""
        var seen = 0
        while seen < count {
            let buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            guard buffer.readableBytes > 0 else { continue }
            let chunk = String(decoding: buffer.readableBytesView, as: UTF8.self)
            text += chunk
            seen = text.components(separatedBy: "\r\n").count - 1
        }
        return text
    }

    /// Runs the channel's loop until `count` writes are held (a bounded number of turns).
    func waitUntilHeld(_ handler: HeldWritesHandler, _ count: Int, _ channel: NIOAsyncTestingChannel,
                       file: StaticString = #filePath, line: UInt = #line) async throws {
        for _ in 0..<10_000 where handler.heldCount < count { try await channel.testingEventLoop.executeInContext {} }
        XCTAssertGreaterThanOrEqual(handler.heldCount, count, "writes held", file: file, line: line)
    }

    func testDatabaseSizeWaitsForTheWritesBeforeIt() async throws {
        let handler = HeldWritesHandler()
        let channel = try await makeChannel(handler)
        try await channel.writeInbound(commands([["SET", "a", "1"], ["SET", "b", "2"], ["DBSIZE"], ["SET", "c", "3"]]))
        try await waitUntilHeld(handler, 2, channel)
        XCTAssertEqual(handler.heldCount, 2, "the SET after DBSIZE waits behind it")
        handler.release()
        try await waitUntilHeld(handler, 1, channel)
        handler.release()
        let text = try await answers(channel, 4)
        XCTAssertEqual(text, "+OK\r\n+OK\r\n:2\r\n+OK\r\n", "DBSIZE counted both earlier writes and not the later one")
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    func testMultipleSetOfOneKeyTwiceKeepsTheLastValue() async throws {
        let handler = HeldWritesHandler()
        let channel = try await makeChannel(handler)
        try await channel.writeInbound(commands([["MSET", "k", "first", "other", "x", "k", "last"]]))
        try await waitUntilHeld(handler, 2, channel)
        XCTAssertEqual(handler.heldCount, 2, "one put per distinct key")
        handler.release(reversed: true)
        _ = try await answers(channel, 1)
        try await channel.writeInbound(commands([["GET", "k"]]))
        let text = try await answers(channel, 2)
        XCTAssertEqual(text, "$4\r\nlast\r\n")
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    func testAMultiKeyCommandTakesASlotPerKey() async throws {
        let handler = HeldWritesHandler()
        let channel = try await makeChannel(handler, serverInflightMax: 8)
        try await channel.writeInbound(commands([["MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"],
                                                 ["MSET", "f", "1", "g", "2", "h", "3", "i", "4", "j", "5"],
                                                 ["SET", "k", "1"]]))
        try await waitUntilHeld(handler, 6, channel)
        XCTAssertEqual(handler.heldCount, 6, "five puts of the first MSET and the SET; the second MSET did not fit")
        handler.release()
        let text = try await answers(channel, 3)
        XCTAssertTrue(text.hasPrefix("+OK\r\n-BUSY "), text)
        XCTAssertTrue(text.hasSuffix("+OK\r\n"), text)
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }
}
