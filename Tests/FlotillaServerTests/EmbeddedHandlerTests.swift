@testable import FlotillaServer
import NIOCore
import NIOEmbedded
import XCTest

/// The NIO handler in memory, before any socket: framing across writes and error answers.
final class EmbeddedHandlerTests: XCTestCase {
    func testSplitRequestsAndImmediateErrors() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            LineProtocolHandler(handler: DictionaryHandler(), inflightRequestsMax: 16, serverInflight: ServerInflight(maximum: 16)))
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

    func testOversizedLineClosesTheChannel() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            LineProtocolHandler(handler: DictionaryHandler(), inflightRequestsMax: 16, serverInflight: ServerInflight(maximum: 16)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(repeating: UInt8(ascii: "x"), count: LineProtocolLimits.lineBytesMax + 1))
        var answer = try XCTUnwrap(try channel.readOutbound(as: ByteBuffer.self))
        XCTAssertTrue(answer.readString(length: answer.readableBytes)!.hasPrefix("ERR TOO_LARGE"))
        channel.embeddedEventLoop.run()
        XCTAssertFalse(channel.isActive)
    }
}
