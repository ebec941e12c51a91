import FlotillaEventLoop
import FlotillaHost
@testable import FlotillaServer
import NIOCore
import NIOEmbedded
import XCTest

/// Redis clients' exchanges with a `RedisSession` in its pipelined handler, over a real state
/// machine with a clock the test moves: the string commands and their options, multi-key
/// commands split by key and assembled in order, integers, expiry seen through TTL and reads,
/// a SCAN walk, connection commands, and QUIT and protocol errors closing the connection.
final class RedisSessionTests: XCTestCase {
    func makeChannel(_ handler: StateMachineHandler) async throws -> NIOAsyncTestingChannel {
        let channel = NIOAsyncTestingChannel()
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandler(
                PipelinedConnectionHandler(session: RedisSession(handler: handler, clientID: 7), inflightRequestsMax: 64,
                                           serverInflight: ServerInflight(maximum: 1_024),
                                           mailbox: EventLoopMailbox(eventLoop: channel.testingEventLoop)))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        return channel
    }

    /// A command as every client sends one: an array of bulk strings.
    func encode(_ words: [String]) -> [UInt8] {
        RESPValue.array(words.map { .bulk($0) }).bytes
    }

    func send(_ channel: NIOAsyncTestingChannel, _ words: String...) async throws {
        try await channel.writeInbound(ByteBuffer(bytes: encode(words)))
    }

    func nextAnswer(_ channel: NIOAsyncTestingChannel) async throws -> [UInt8] {
        while true {
            let buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            if buffer.readableBytes > 0 { return Array(buffer.readableBytesView) }
        }
    }

    /// Sends one command and checks its answer, byte for byte.
    func exchange(_ channel: NIOAsyncTestingChannel, _ words: [String], _ expected: RESPValue, _ message: String = "",
                  file: StaticString = #filePath, line: UInt = #line) async throws {
        try await channel.writeInbound(ByteBuffer(bytes: encode(words)))
        let answer = try await nextAnswer(channel)
        XCTAssertEqual(String(decoding: answer, as: UTF8.self), String(decoding: expected.bytes, as: UTF8.self), "\(words) \(message)",
                       file: file, line: line)
    }

    func bulks(_ texts: String?...) -> RESPValue { .array(texts.map { $0.map(RESPValue.bulk) ?? .null }) }

    func testPingSetGet() async throws {
        let channel = try await makeChannel(StateMachineHandler())
        try await exchange(channel, ["PING"], .simple("PONG"))
        try await exchange(channel, ["ping", "hi"], .bulk("hi"))
        try await exchange(channel, ["ECHO", "a\r\nb"], .bulk("a\r\nb"))
        try await exchange(channel, ["SET", "k", "v"], .ok)
        try await exchange(channel, ["GET", "k"], .bulk("v"))
        try await exchange(channel, ["GET", "missing"], .null)
        try await exchange(channel, ["TYPE", "k"], .simple("string"))
        try await exchange(channel, ["TYPE", "missing"], .simple("none"))
        try await exchange(channel, ["DBSIZE"], .integer(1))
        try await exchange(channel, ["FLUSHALL"], .error("ERR unknown command 'FLUSHALL', with args beginning with: "))
        try await exchange(channel, ["GET"], .error("ERR wrong number of arguments for 'get' command"))
        try await exchange(channel, ["COMMAND", "COUNT"], .integer(Int64(RedisCommandTable.entries.count)))
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    func testSetOptions() async throws {
        let channel = try await makeChannel(StateMachineHandler())
        try await exchange(channel, ["SET", "k", "v", "NX"], .ok)
        try await exchange(channel, ["SET", "k", "w", "NX"], .null)
        try await exchange(channel, ["SET", "k", "w", "XX", "GET"], .bulk("v"))
        try await exchange(channel, ["GET", "k"], .bulk("w"))
        try await exchange(channel, ["SET", "other", "v", "XX"], .null)
        try await exchange(channel, ["GET", "other"], .null)
        try await exchange(channel, ["SET", "fresh", "v", "GET"], .null, "GET on a new key answers nil, and sets")
        try await exchange(channel, ["GET", "fresh"], .bulk("v"))
        try await exchange(channel, ["SET", "k", "x", "NX", "GET"], .bulk("w"), "not set, the old value answered")
        try await exchange(channel, ["GET", "k"], .bulk("w"))
        try await exchange(channel, ["SETNX", "k", "y"], .integer(0))
        try await exchange(channel, ["SETNX", "n", "y"], .integer(1))
        try await exchange(channel, ["GETSET", "n", "z"], .bulk("y"))
        try await exchange(channel, ["GETSET", "none", "z"], .null)
        try await exchange(channel, ["SET", "k", "v", "NX", "XX"], .error("ERR syntax error"))
        try await exchange(channel, ["SET", "k", "v", "EX", "0"], .error("ERR invalid expire time in 'set' command"))
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    func testMultiKeyCommands() async throws {
        let channel = try await makeChannel(StateMachineHandler())
        try await exchange(channel, ["MSET", "a", "1", "b", "2"], .ok)
        try await exchange(channel, ["MGET", "a", "x", "b", "a"], bulks("1", nil, "2", "1"))
        try await exchange(channel, ["EXISTS", "a", "a", "x", "b"], .integer(3), "duplicates count")
        try await exchange(channel, ["DEL", "a", "x", "b", "a"], .integer(2), "each key counted once")
        try await exchange(channel, ["MGET", "a", "b"], bulks(nil, nil))
        try await exchange(channel, ["DEL", "a"], .integer(0))
        try await exchange(channel, ["MSET", "a", "1", "b"], .error("ERR wrong number of arguments for 'mset' command"))
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    func testIntegersAndAppend() async throws {
        let channel = try await makeChannel(StateMachineHandler())
        try await exchange(channel, ["INCR", "n"], .integer(1))
        try await exchange(channel, ["INCRBY", "n", "10"], .integer(11))
        try await exchange(channel, ["DECRBY", "n", "20"], .integer(-9))
        try await exchange(channel, ["DECR", "n"], .integer(-10))
        try await exchange(channel, ["GET", "n"], .bulk("-10"))
        try await exchange(channel, ["SET", "s", "hello"], .ok)
        try await exchange(channel, ["INCR", "s"], .error("ERR value is not an integer or out of range"))
        try await exchange(channel, ["GET", "s"], .bulk("hello"), "nothing changed")
        try await exchange(channel, ["SET", "big", "9223372036854775807"], .ok)
        try await exchange(channel, ["INCR", "big"], .error("ERR increment or decrement would overflow"))
        try await exchange(channel, ["GET", "big"], .bulk("9223372036854775807"))
        try await exchange(channel, ["INCRBY", "n", "x"], .error("ERR value is not an integer or out of range"))
        try await exchange(channel, ["APPEND", "s", " world"], .integer(11))
        try await exchange(channel, ["STRLEN", "s"], .integer(11))
        try await exchange(channel, ["GET", "s"], .bulk("hello world"))
        try await exchange(channel, ["APPEND", "new", "ab"], .integer(2))
        try await exchange(channel, ["STRLEN", "missing"], .integer(0))
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    func testExpiryWithTheClockMoved() async throws {
        let handler = StateMachineHandler()
        let channel = try await makeChannel(handler)
        try await exchange(channel, ["SET", "k", "v"], .ok)
        try await exchange(channel, ["TTL", "k"], .integer(-1))
        try await exchange(channel, ["TTL", "missing"], .integer(-2))
        try await exchange(channel, ["EXPIRE", "k", "10"], .integer(1))
        try await exchange(channel, ["TTL", "k"], .integer(10))
        try await exchange(channel, ["PTTL", "k"], .integer(10_000))
        handler.advance(milliseconds: 2_600)
        try await exchange(channel, ["TTL", "k"], .integer(7), "7.4 s left rounds to 7")
        try await exchange(channel, ["PTTL", "k"], .integer(7_400))
        handler.advance(milliseconds: 200)
        try await exchange(channel, ["TTL", "k"], .integer(7), "7.2 s")
        handler.advance(milliseconds: 1_000)
        try await exchange(channel, ["TTL", "k"], .integer(6), "6.2 s")
        try await exchange(channel, ["PERSIST", "k"], .integer(1))
        try await exchange(channel, ["TTL", "k"], .integer(-1))
        try await exchange(channel, ["PERSIST", "k"], .integer(0))
        try await exchange(channel, ["PEXPIRE", "k", "1500"], .integer(1))
        handler.advance(milliseconds: 1_499)
        try await exchange(channel, ["GET", "k"], .bulk("v"))
        handler.advance(milliseconds: 1)
        try await exchange(channel, ["GET", "k"], .null, "expired")
        try await exchange(channel, ["TTL", "k"], .integer(-2))
        try await exchange(channel, ["PTTL", "k"], .integer(-2))
        try await exchange(channel, ["EXISTS", "k"], .integer(0))
        try await exchange(channel, ["STRLEN", "k"], .integer(0))
        try await exchange(channel, ["EXPIRE", "k", "10"], .integer(0))
        try await exchange(channel, ["EXPIRE", "missing", "10"], .integer(0))
        try await exchange(channel, ["SET", "k", "v", "EX", "5"], .ok)
        try await exchange(channel, ["SET", "k", "w", "KEEPTTL"], .ok)
        try await exchange(channel, ["TTL", "k"], .integer(5))
        try await exchange(channel, ["SET", "k", "w"], .ok)
        try await exchange(channel, ["TTL", "k"], .integer(-1), "plain SET clears the expiry")
        try await exchange(channel, ["EXPIRE", "k", "-1"], .integer(1))
        try await exchange(channel, ["GET", "k"], .null, "a negative expire deletes")
        try await exchange(channel, ["SET", "k", "v", "PX", "100"], .ok)
        handler.advance(milliseconds: 100)
        try await exchange(channel, ["SET", "k", "again", "NX"], .ok, "an expired key is absent to NX")
        try await exchange(channel, ["TTL", "k"], .integer(-1))
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    func testScanWalksEveryKeyOnceAndMatchFilters() async throws {
        let handler = StateMachineHandler(shardCount: 3)
        let channel = try await makeChannel(handler)
        let keys = (0..<60).map { "key:\($0)" }
        for key in keys { try await exchange(channel, ["SET", key, "v"], .ok) }
        for (pattern, expected) in [(nil, Set(keys)), ("key:1*", Set(keys.filter { $0.hasPrefix("key:1") })), ("nothing*", Set<String>())] {
            var cursor = "0"
            var seen: [String] = []
            var pages = 0
            repeat {
                var words = ["SCAN", cursor, "COUNT", "7"]
                if let pattern { words += ["MATCH", pattern] }
                try await channel.writeInbound(ByteBuffer(bytes: encode(words)))
                let (next, page) = try parseScanReply(try await nextAnswer(channel))
                seen += page
                cursor = next
                pages += 1
                XCTAssertLessThan(pages, 100)
            } while cursor != "0"
            XCTAssertEqual(seen.count, expected.count, "pattern \(pattern ?? "none"): each key once")
            XCTAssertEqual(Set(seen), expected, "pattern \(pattern ?? "none")")
        }
        try await channel.writeInbound(ByteBuffer(bytes: encode(["SCAN", "0", "TYPE", "hash"])))
        let (next, typed) = try parseScanReply(try await nextAnswer(channel))
        XCTAssertEqual(typed, [], "no key is of another type")
        XCTAssertNotEqual(next, "0", "the walk goes on")
        try await exchange(channel, ["SCAN", String(ScanCursor(shard: 4, position: 0).value)], .error("ERR invalid cursor"))
        try await exchange(channel, ["SCAN", "x"], .error("ERR invalid cursor"))
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    /// `*2 $cursor *n $key...` into the cursor and the keys.
    func parseScanReply(_ bytes: [UInt8]) throws -> (String, [String]) {
        var parser = RESPReplyReader(bytes: bytes)
        guard case .array(let parts)? = parser.value(), parts.count == 2, case .bulk(let cursor) = parts[0], case .array(let keys) = parts[1] else {
            XCTFail("not a SCAN reply: \(String(decoding: bytes, as: UTF8.self))")
            throw ReplyMismatch()
        }
        return (String(decoding: cursor, as: UTF8.self), keys.compactMap { if case .bulk(let key) = $0 { String(decoding: key, as: UTF8.self) } else { nil } })
    }

    func testConnectionCommands() async throws {
        let channel = try await makeChannel(StateMachineHandler())
        try await exchange(channel, ["HELLO", "3"], .error("NOPROTO unsupported protocol version: Flotilla speaks RESP2 only"))
        try await exchange(channel, ["SELECT", "1"], .error("ERR DB index is out of range (Flotilla has database 0 only)"))
        try await exchange(channel, ["SELECT", "0"], .ok)
        try await exchange(channel, ["CLIENT", "GETNAME"], .null)
        try await exchange(channel, ["CLIENT", "SETNAME", "app"], .ok)
        try await exchange(channel, ["CLIENT", "GETNAME"], .bulk("app"))
        try await exchange(channel, ["CLIENT", "SETNAME", ""], .ok)
        try await exchange(channel, ["CLIENT", "GETNAME"], .null, "an empty name clears it")
        try await exchange(channel, ["CLIENT", "ID"], .integer(7))
        try await channel.writeInbound(ByteBuffer(bytes: encode(["HELLO", "2", "SETNAME", "via-hello"])))
        let hello = String(decoding: try await nextAnswer(channel), as: UTF8.self)
        XCTAssertTrue(hello.hasPrefix("*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n"), hello)
        XCTAssertTrue(hello.contains("$5\r\nproto\r\n:2\r\n"), hello)
        XCTAssertTrue(hello.contains("$2\r\nid\r\n:7\r\n"), hello)
        try await exchange(channel, ["CLIENT", "GETNAME"], .bulk("via-hello"))
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    func testPipelinedAnswersComeInOrder() async throws {
        let channel = try await makeChannel(StateMachineHandler())
        var stream: [UInt8] = []
        stream += encode(["SET", "k", "1"])
        stream += Array("INCR k\r\n".utf8)
        stream += encode(["GET", "k"])
        stream += encode(["NOPE"])
        stream += Array("PING\r\n\r\nSET s \"a b\"\r\n".utf8)
        stream += encode(["MGET", "k", "s", "none"])
        stream += encode(["APPEND", "k", "0"])
        stream += encode(["GET", "k"])
        try await channel.writeInbound(ByteBuffer(bytes: stream))
        let expected: [RESPValue] = [
            .ok, .integer(2), .bulk("2"), .error("ERR unknown command 'NOPE', with args beginning with: "), .simple("PONG"), .ok,
            bulks("2", "a b", nil), .integer(2), .bulk("20"),
        ]
        for value in expected {
            let answer = try await nextAnswer(channel)
            XCTAssertEqual(String(decoding: answer, as: UTF8.self), String(decoding: value.bytes, as: UTF8.self))
        }
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    func testQuitAnswersOKAndCloses() async throws {
        let channel = try await makeChannel(StateMachineHandler())
        var stream = encode(["SET", "k", "v"]) + encode(["QUIT"]) + encode(["SET", "k", "after"])
        try await channel.writeInbound(ByteBuffer(bytes: stream))
        let first = try await nextAnswer(channel)
        let second = try await nextAnswer(channel)
        XCTAssertEqual(first, RESPValue.ok.bytes)
        XCTAssertEqual(second, RESPValue.ok.bytes, "QUIT answers +OK")
        try await channel.closeFuture.get()
        stream = []
        let leftOver = try await channel.readOutbound(as: ByteBuffer.self)
        XCTAssertEqual(leftOver?.readableBytes ?? 0, 0, "nothing after QUIT is answered")
    }

    func testProtocolErrorAnswersThenCloses() async throws {
        let handler = StateMachineHandler()
        let channel = try await makeChannel(handler)
        try await channel.writeInbound(ByteBuffer(bytes: encode(["SET", "k", "v"]) + Array("*x\r\n".utf8) + encode(["SET", "k", "after"])))
        let first = try await nextAnswer(channel)
        let second = try await nextAnswer(channel)
        XCTAssertEqual(first, RESPValue.ok.bytes)
        XCTAssertEqual(String(decoding: second, as: UTF8.self), "-ERR Protocol error: invalid multibulk length\r\n")
        try await channel.closeFuture.get()
        XCTAssertEqual(handler.state.withLock { $0.value(for: Array("k".utf8)) }, Array("v".utf8), "nothing after the error was carried out")
    }

    func testBulkOverTheLimitIsRefusedAndCloses() async throws {
        let channel = try await makeChannel(StateMachineHandler())
        try await channel.writeInbound(ByteBuffer(string: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$\(LineProtocolLimits.valueBytesMax + 4_096)\r\n"))
        let answer = String(decoding: try await nextAnswer(channel), as: UTF8.self)
        XCTAssertTrue(answer.hasPrefix("-TOOLARGE bulk string of "), answer)
        XCTAssertTrue(answer.hasSuffix("; closing the connection\r\n"), answer)
        try await channel.closeFuture.get()
    }
}

/// Reads one RESP2 reply (what the tests need of a client).
struct RESPReplyReader {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func line() -> String {
        var end = index
        while end + 1 < bytes.count, !(bytes[end] == 0x0D && bytes[end + 1] == 0x0A) { end += 1 }
        let text = String(decoding: bytes[index..<end], as: UTF8.self)
        index = end + 2
        return text
    }

    mutating func value() -> RESPValue? {
        guard index < bytes.count else { return nil }
        let kind = bytes[index]
        index += 1
        let header = line()
        switch kind {
        case UInt8(ascii: "+"): return .simple(header)
        case UInt8(ascii: "-"): return .error(header)
        case UInt8(ascii: ":"): return Int64(header).map(RESPValue.integer)
        case UInt8(ascii: "$"):
            guard let count = Int(header) else { return nil }
            if count < 0 { return .null }
            let body = Array(bytes[index..<(index + count)])
            index += count + 2
            return .bulk(body)
        case UInt8(ascii: "*"):
            guard let count = Int(header) else { return nil }
            if count < 0 { return .nullArray }
            var elements: [RESPValue] = []
            for _ in 0..<count {
                guard let element = value() else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default: return nil
        }
    }
}

/// A reply that was not the one a test expected (the failure itself is reported with it).
struct ReplyMismatch: Error {}
