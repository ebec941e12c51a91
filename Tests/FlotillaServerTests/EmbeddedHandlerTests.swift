import FlotillaEventLoop
@testable import FlotillaServer
import NIOCore
import NIOEmbedded
import Synchronization
import XCTest

/// Counts the reads the line-protocol handler asks of the socket: the back-pressure it applies.
final class ReadCounter: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = ByteBuffer
    let reads = Atomic<Int>(0)

    func read(context: ChannelHandlerContext) {
        reads.add(1, ordering: .relaxed)
        context.read()
    }
}

/// The NIO handler in memory, before any socket: framing across writes, answers in request
/// order, back-pressure, half-close, draining and the oversized-line close.
final class EmbeddedHandlerTests: XCTestCase {
    func makeChannel(_ handler: DictionaryHandler, inflightRequestsMax: Int = 16, serverInflight: ServerInflight = ServerInflight(maximum: 16),
                     readCounter: ReadCounter? = nil) async throws -> NIOAsyncTestingChannel {
        let channel = NIOAsyncTestingChannel()
        try await channel.testingEventLoop.executeInContext {
            if let readCounter { try channel.pipeline.syncOperations.addHandler(readCounter) }
            try channel.pipeline.syncOperations.addHandler(
                LineProtocolHandler(handler: handler, inflightRequestsMax: inflightRequestsMax, serverInflight: serverInflight,
                                    mailbox: EventLoopMailbox(eventLoop: channel.testingEventLoop)))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        return channel
    }

    /// The next non-empty write, as text (the handler's close writes an empty buffer first).
    func nextAnswer(_ channel: NIOAsyncTestingChannel) async throws -> String {
        while true {
            var buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            if buffer.readableBytes > 0 { return buffer.readString(length: buffer.readableBytes)! }
        }
    }

    func expectAnswer(_ channel: NIOAsyncTestingChannel, _ expected: String, message: String = "",
                      file: StaticString = #filePath, line: UInt = #line) async throws {
        let answer = try await nextAnswer(channel)
        XCTAssertEqual(answer, expected, message, file: file, line: line)
    }

    func expectAnswer(_ channel: NIOAsyncTestingChannel, prefix: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        let answer = try await nextAnswer(channel)
        XCTAssertTrue(answer.hasPrefix(prefix), answer, file: file, line: line)
    }

    func testSplitRequestsAndImmediateErrors() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            LineProtocolHandler(handler: DictionaryHandler(), inflightRequestsMax: 16, serverInflight: ServerInflight(maximum: 16),
                                mailbox: EventLoopMailbox(eventLoop: channel.embeddedEventLoop)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        // Malformed lines are answered without the handler, so the answers are there at once.
        try channel.writeInbound(ByteBuffer(string: "BOG"))
        XCTAssertNil(try channel.readOutbound(as: ByteBuffer.self))
        try channel.writeInbound(ByteBuffer(string: "US\r\n\n"))
        var first = try XCTUnwrap(try channel.readOutbound(as: ByteBuffer.self))
        XCTAssertEqual(first.readString(length: first.readableBytes), "ERR BAD_REQUEST unknown command 'BOGUS'\n")
        var second = try XCTUnwrap(try channel.readOutbound(as: ByteBuffer.self))
        XCTAssertEqual(second.readString(length: second.readableBytes), "ERR BAD_REQUEST empty request\n")
        XCTAssertTrue(channel.isActive)
        _ = try? channel.finish()
    }

    func testOversizedLineIsAnsweredAfterEarlierRequestsThenClosesTheChannel() async throws {
        let handler = DictionaryHandler(gatedKeys: ["slow"])
        let channel = try await makeChannel(handler)
        try await channel.writeInbound(ByteBuffer(string: "GET slow\nPING\n"))
        try await channel.writeInbound(ByteBuffer(repeating: UInt8(ascii: "x"), count: LineProtocolLimits.lineBytesMax + 1))
        try await channel.writeInbound(ByteBuffer(string: "\nPING\n"))
        await handler.gate("slow").arrivals(1)
        XCTAssertTrue(channel.isActive, "open while earlier answers are owed")
        handler.gate("slow").open()
        try await expectAnswer(channel, "NOT_FOUND\n")
        try await expectAnswer(channel, "PONG\n")
        try await expectAnswer(channel, prefix: "ERR TOO_LARGE ")
        try await channel.closeFuture.get()
        let leftOver = try await channel.readOutbound(as: ByteBuffer.self)
        XCTAssertEqual(leftOver?.readableBytes ?? 0, 0, "nothing after the oversized line is answered")
    }

    func testAnswersAreWrittenInRequestOrderWhenTheHandlerCompletesThemOutOfOrder() async throws {
        let handler = DictionaryHandler(gatedKeys: ["a", "b"])
        handler.values.withLock { $0 = [Array("a".utf8): Array("1".utf8), Array("b".utf8): Array("2".utf8)] }
        let channel = try await makeChannel(handler)
        try await channel.writeInbound(ByteBuffer(string: "GET a\nGET b\nPING\nNOPE\n"))
        await handler.gate("a").arrivals(1)
        await handler.gate("b").arrivals(1)
        // PING and NOPE are answered at once, b next, a last; the answers still go out in order.
        handler.gate("b").open()
        handler.gate("a").open()
        var answers: [String] = []
        for _ in 0..<4 { answers.append(try await nextAnswer(channel)) }
        XCTAssertEqual(answers, ["VALUE 1\n", "VALUE 2\n", "PONG\n", "ERR BAD_REQUEST unknown command 'NOPE'\n"])
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    func testReadingStopsAtTheConnectionLimitAndResumesWhenAnswersDrain() async throws {
        let handler = DictionaryHandler(gatedKeys: ["slow"])
        let counter = ReadCounter()
        let channel = try await makeChannel(handler, inflightRequestsMax: 2, readCounter: counter)
        XCTAssertEqual(counter.reads.load(ordering: .relaxed), 1, "the first read, on becoming active")
        try await channel.writeInbound(ByteBuffer(string: "GET slow\nPING\n"))
        await handler.gate("slow").arrivals(1)
        try await channel.testingEventLoop.executeInContext {}
        XCTAssertEqual(counter.reads.load(ordering: .relaxed), 1, "two unanswered requests: no further read")
        handler.gate("slow").open()
        try await expectAnswer(channel, "NOT_FOUND\n")
        try await expectAnswer(channel, "PONG\n")
        try await channel.testingEventLoop.executeInContext {}
        XCTAssertEqual(counter.reads.load(ordering: .relaxed), 2, "reading resumes once the answers are out")
        try await channel.writeInbound(ByteBuffer(string: "PING\n"))
        try await expectAnswer(channel, "PONG\n")
        XCTAssertEqual(counter.reads.load(ordering: .relaxed), 3, "below the limit every read is followed by the next")
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    func testServerWideLimitAnswersBusyInOrder() async throws {
        let handler = DictionaryHandler(gatedKeys: ["slow"])
        let channel = try await makeChannel(handler, serverInflight: ServerInflight(maximum: 1))
        try await channel.writeInbound(ByteBuffer(string: "GET slow\nPING\n"))
        await handler.gate("slow").arrivals(1)
        handler.gate("slow").open()
        try await expectAnswer(channel, "NOT_FOUND\n")
        try await expectAnswer(channel, prefix: "ERR BUSY ")
        try await channel.writeInbound(ByteBuffer(string: "PING\n"))
        try await expectAnswer(channel, "PONG\n", message: "room again once the first request is answered")
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    func testClientThatFinishedSendingGetsEveryAnswerThenTheClose() async throws {
        let handler = DictionaryHandler(gatedKeys: ["slow"])
        let channel = try await makeChannel(handler)
        try await channel.writeInbound(ByteBuffer(string: "GET slow\nPING\nGET par"))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        await handler.gate("slow").arrivals(1)
        XCTAssertTrue(channel.isActive, "open while an answer is owed")
        handler.gate("slow").open()
        try await expectAnswer(channel, "NOT_FOUND\n")
        try await expectAnswer(channel, "PONG\n")
        try await channel.closeFuture.get()
        let leftOver = try await channel.readOutbound(as: ByteBuffer.self)
        XCTAssertEqual(leftOver?.readableBytes ?? 0, 0, "the partial last line is dropped, not answered")
    }

    func testDrainingAnswersShuttingDownAndClosesOnceIdle() async throws {
        let handler = DictionaryHandler(gatedKeys: ["slow"])
        let serverInflight = ServerInflight(maximum: 16)
        let channel = try await makeChannel(handler, serverInflight: serverInflight)
        try await channel.writeInbound(ByteBuffer(string: "PUT slow 1\n"))
        await handler.gate("slow").arrivals(1)
        serverInflight.beginDraining()
        channel.pipeline.fireUserInboundEventTriggered(CloseWhenIdle())
        try await channel.writeInbound(ByteBuffer(string: "PING\n"))
        XCTAssertTrue(channel.isActive, "open while the write in flight is owed its answer")
        handler.gate("slow").open()
        try await expectAnswer(channel, "OK\n")
        try await expectAnswer(channel, prefix: "ERR SHUTTING_DOWN ")
        try await channel.closeFuture.get()
        XCTAssertEqual(handler.values.withLock { $0[Array("slow".utf8)] }, Array("1".utf8), "the request in flight was carried out")
    }
}
