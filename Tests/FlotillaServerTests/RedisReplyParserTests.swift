@testable import FlotillaServer
import XCTest

/// RESP2 replies split out of a byte stream, whatever the chunks.
final class RedisReplyParserTests: XCTestCase {
    /// Every kind of reply a client of SET and GET meets, pipelined in one stream.
    static let stream = Array("+OK\r\n$5\r\nhello\r\n$-1\r\n-ERR wrong number of arguments\r\n:42\r\n$0\r\n\r\n*2\r\n$1\r\na\r\n:-7\r\n*-1\r\n$4\r\na\r\nb\r\n-NOLEADER shard 3\r\n".utf8)
    static let expected: [RedisReply] = [
        .simpleString(Array("OK".utf8)),
        .bulkString(Array("hello".utf8)),
        .null,
        .error(Array("ERR wrong number of arguments".utf8)),
        .integer(42),
        .bulkString([]),
        .array([.bulkString(Array("a".utf8)), .integer(-7)]),
        .null,
        .bulkString(Array("a\r\nb".utf8)),
        .error(Array("NOLEADER shard 3".utf8)),
    ]

    func testPipelinedRepliesInOneChunk() throws {
        var parser = RedisReplyParser()
        parser.append(Self.stream)
        var replies: [RedisReply] = []
        while let reply = try parser.next() { replies.append(reply) }
        XCTAssertEqual(replies, Self.expected)
        XCTAssertEqual(parser.bufferedByteCount, 0)
    }

    /// One byte at a time: no reply comes out before its last byte, and every one comes out then.
    func testByteByByte() throws {
        var parser = RedisReplyParser()
        var replies: [RedisReply] = []
        var completedAt: [Int] = []
        for (position, byte) in Self.stream.enumerated() {
            parser.append([byte])
            while let reply = try parser.next() {
                replies.append(reply)
                completedAt.append(position + 1)
            }
        }
        XCTAssertEqual(replies, Self.expected)
        // Each reply completes exactly at the end of its own bytes.
        var ends: [Int] = []
        var offset = 0
        for _ in Self.expected {
            var alone = RedisReplyParser()
            alone.append(Array(Self.stream[offset...]))
            _ = try alone.next()
            offset = Self.stream.count - alone.bufferedByteCount
            ends.append(offset)
        }
        XCTAssertEqual(completedAt, ends)
    }

    /// Every split of the stream into two reads gives the same replies.
    func testEverySplitPoint() throws {
        for split in 0...Self.stream.count {
            var parser = RedisReplyParser()
            var replies: [RedisReply] = []
            parser.append(Array(Self.stream[..<split]))
            while let reply = try parser.next() { replies.append(reply) }
            parser.append(Array(Self.stream[split...]))
            while let reply = try parser.next() { replies.append(reply) }
            XCTAssertEqual(replies, Self.expected, "split at \(split)")
        }
    }

    func testErrorsAreTheOnlyFailures() {
        XCTAssertTrue(RedisReply.error(Array("ERR x".utf8)).isError)
        XCTAssertFalse(RedisReply.null.isError, "a missing key is an answer, not an error")
        XCTAssertFalse(RedisReply.simpleString(Array("OK".utf8)).isError)
    }

    func testMalformedStreamsAreRefused() {
        let cases = [
            "?what\r\n",               // unknown type byte
            "+OK\n",                   // LF without CR
            "+OK\rX",                  // CR without LF
            "$abc\r\n",                // length not a number
            "$-2\r\n",                 // negative length other than -1
            "$3\r\nabcde\r\n",         // bulk longer than its length
            ":12x\r\n",                // integer not a number
            "*1\r\n?\r\n",             // bad element inside an array
        ]
        for text in cases {
            var parser = RedisReplyParser()
            parser.append(Array(text.utf8))
            XCTAssertThrowsError(try parser.next(), text.debugDescription)
        }
    }

    /// A huge announced length is refused at once, not buffered until it arrives.
    func testOversizedBulkIsRefusedBeforeItsBytes() {
        var parser = RedisReplyParser()
        parser.append(Array("$\(RedisReplyParser.maximumBulkLengthBytes + 1)\r\n".utf8))
        XCTAssertThrowsError(try parser.next())
    }

    func testDeepNestingIsRefused() {
        var parser = RedisReplyParser()
        parser.append(Array(String(repeating: "*1\r\n", count: RedisReplyParser.maximumNestingDepth + 2).utf8))
        XCTAssertThrowsError(try parser.next())
    }
}
