import FlotillaServer
import XCTest

final class RequestParserTests: XCTestCase {
    func parse(_ text: String) -> Result<ClientRequest, RequestParser.Refusal> { RequestParser.parse(Array(text.utf8)) }

    func code(_ text: String) -> ClientErrorCode? {
        if case .failure(let refusal) = parse(text) { return refusal.code }
        return nil
    }

    func testEveryCommandParses() {
        XCTAssertEqual(try parse("PUT k some value with spaces").get(), .put(key: Array("k".utf8), value: Array("some value with spaces".utf8)))
        XCTAssertEqual(try parse("put k ").get(), .put(key: Array("k".utf8), value: []), "an empty value is allowed")
        XCTAssertEqual(try parse("GET k").get(), .get(key: Array("k".utf8)))
        XCTAssertEqual(try parse("stale-get k").get(), .staleGet(key: Array("k".utf8)))
        XCTAssertEqual(try parse("DEL k").get(), .delete(key: Array("k".utf8)))
        XCTAssertEqual(try parse("CAS k a b").get(), .compareAndSet(key: Array("k".utf8), expected: Array("a".utf8), new: Array("b".utf8)))
        XCTAssertEqual(try parse("SHARD k").get(), .shard(key: Array("k".utf8)))
        XCTAssertEqual(try parse("Ping").get(), .ping)
        XCTAssertEqual(try parse("STATUS 3").get(), .status(shard: 3))
        XCTAssertEqual(try parse("ADD-OBSERVER 3 4 host-4:7104").get(), .addObserver(shard: 3, node: 4, address: "host-4:7104"))
        XCTAssertEqual(try parse("PROMOTE 3 4").get(), .promote(shard: 3, node: 4))
        XCTAssertEqual(try parse("REMOVE 3 4").get(), .remove(shard: 3, node: 4))
        XCTAssertEqual(try parse("TRANSFER 3 4").get(), .transfer(shard: 3, node: 4))
        XCTAssertEqual(try parse("SNAPSHOT 3").get(), .snapshot(shard: 3))
        XCTAssertEqual(try parse("EXPORT 3 /tmp/x").get(), .export(shard: 3, directory: "/tmp/x"))
        XCTAssertEqual(try parse("GET k\r").get(), .get(key: Array("k".utf8)), "a carriage return before the line end is ignored")
    }

    func testMalformedRequestsAreRefusedWithTheRightCode() {
        for bad in ["", "PUT k", "PUT", "GET", "GET a b", "GET  a", "CAS k a", "CAS k a b c", "FROB x", "STATUS", "STATUS x",
                    "STATUS 0", "STATUS -1", "PROMOTE 1", "ADD-OBSERVER 1 2", "ADD-OBSERVER 1 2 nowhere", "PING x", "PUT a\rb c"] {
            XCTAssertEqual(code(bad), .badRequest, "'\(bad)'")
        }
        XCTAssertEqual(code("GET a\u{0}b"), .badRequest, "NUL in a key")
        let longKey = String(repeating: "k", count: 1025)
        XCTAssertEqual(code("GET \(longKey)"), .tooLarge)
        XCTAssertNotNil(try? parse("GET \(String(repeating: "k", count: 1024))").get(), "a 1024-byte key is fine")
        XCTAssertEqual(code("PUT k \(String(repeating: "v", count: (1 << 20) + 1))"), .tooLarge)
        XCTAssertNotNil(try? parse("PUT k \(String(repeating: "v", count: 1 << 20))").get(), "a 1 MiB value is fine")
    }

    func testBinaryValuesSurvive() {
        var line = Array("PUT k ".utf8)
        let value: [UInt8] = (0...255).map(UInt8.init).filter { $0 != 10 && $0 != 13 }
        line += value
        XCTAssertEqual(try RequestParser.parse(line).get(), .put(key: Array("k".utf8), value: value))
        XCTAssertEqual(ResponseRenderer.render(.value(value)), Array("VALUE ".utf8) + value + [10])
    }

    func testRendering() {
        XCTAssertEqual(String(decoding: ResponseRenderer.render(.ok), as: UTF8.self), "OK\n")
        XCTAssertEqual(String(decoding: ResponseRenderer.render(.okIndex(5)), as: UTF8.self), "OK 5\n")
        XCTAssertEqual(String(decoding: ResponseRenderer.render(.exported(index: 5, file: "/a/b")), as: UTF8.self), "OK 5 /a/b\n")
        XCTAssertEqual(String(decoding: ResponseRenderer.render(.value([])), as: UTF8.self), "VALUE \n")
        XCTAssertEqual(String(decoding: ResponseRenderer.render(.notFound), as: UTF8.self), "NOT_FOUND\n")
        XCTAssertEqual(String(decoding: ResponseRenderer.render(.mismatch), as: UTF8.self), "MISMATCH\n")
        XCTAssertEqual(String(decoding: ResponseRenderer.render(.shard(3)), as: UTF8.self), "SHARD 3\n")
        XCTAssertEqual(String(decoding: ResponseRenderer.render(.pong), as: UTF8.self), "PONG\n")
        XCTAssertEqual(String(decoding: ResponseRenderer.render(.error(.busy, "two\nlines")), as: UTF8.self), "ERR BUSY two lines\n")
    }

    func testShardFunctionFollowsTheSpec() {
        XCTAssertEqual(fnv1a64([]), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(fnv1a64(Array("a".utf8)), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(fnv1a64(Array("foobar".utf8)), 0x8594_4171_f739_67e8)
        XCTAssertEqual(shardOf(key: Array("a".utf8), shardCount: 16), 1 + 0xaf63_dc4c_8601_ec8c % 16)
    }
}

final class LineFramerTests: XCTestCase {
    func testSplitAnywhereGivesTheSameLines() {
        let stream = Array("PUT a 1\r\nGET a\nPING\n".utf8)
        for split in 0...stream.count {
            var framer = LineFramer()
            let events = framer.feed(stream[0..<split]) + framer.feed(stream[split...])
            XCTAssertEqual(events, [.line(Array("PUT a 1".utf8)), .line(Array("GET a".utf8)), .line(Array("PING".utf8))], "split at \(split)")
        }
    }

    func testByteByByte() {
        var framer = LineFramer()
        var events: [LineFramer.Event] = []
        for byte in Array("A\nB\n".utf8) { events += framer.feed([byte]) }
        XCTAssertEqual(events, [.line([65]), .line([66])])
    }

    func testOversizedLineIsReportedAsSoonAsTheLimitIsPassed() {
        var framer = LineFramer(lineBytesMax: 10)
        XCTAssertEqual(framer.feed(Array("0123456789".utf8)), [], "exactly at the limit is still fine")
        XCTAssertEqual(framer.feed(Array("x".utf8)), [.tooLarge], "one byte over, without waiting for the line end")
        XCTAssertEqual(framer.feed(Array("more\nGET a\n".utf8)), [], "nothing after an oversized line")
        var exact = LineFramer(lineBytesMax: 10)
        XCTAssertEqual(exact.feed(Array("0123456789\r\n".utf8)), [.line(Array("0123456789".utf8))])
    }
}
