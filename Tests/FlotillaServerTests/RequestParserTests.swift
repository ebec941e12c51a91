import FlotillaServer
import XCTest

/// The parser, byte by byte: every command, every refusal and its code.
final class RequestParserTests: XCTestCase {
    func parse(_ text: String) -> Result<ClientRequest, RequestParser.Refusal> { RequestParser.parse(Array(text.utf8)) }

    func code(_ text: String) -> ClientErrorCode? {
        if case .failure(let refusal) = parse(text) { return refusal.code }
        return nil
    }

    func testEveryCommandParses() {
        XCTAssertEqual(try parse("PUT k some value with spaces").get(), .put(key: Array("k".utf8), value: Array("some value with spaces".utf8)))
        XCTAssertEqual(try parse("put k ").get(), .put(key: Array("k".utf8), value: []), "an empty value is allowed")
        XCTAssertEqual(try parse("PUT k  two").get(), .put(key: Array("k".utf8), value: Array(" two".utf8)), "the value is everything after the space")
        XCTAssertEqual(try parse("GET k").get(), .get(key: Array("k".utf8)))
        XCTAssertEqual(try parse("stale-get k").get(), .staleGet(key: Array("k".utf8)))
        XCTAssertEqual(try parse("DEL k").get(), .delete(key: Array("k".utf8)))
        XCTAssertEqual(try parse("CAS k a b").get(), .compareAndSet(key: Array("k".utf8), expected: Array("a".utf8), new: Array("b".utf8)))
        XCTAssertEqual(try parse("SHARD k").get(), .shard(key: Array("k".utf8)))
        XCTAssertEqual(try parse("Ping").get(), .ping)
        XCTAssertEqual(try parse("sTaTuS 3").get(), .status(shard: 3))
        XCTAssertEqual(try parse("ADD-OBSERVER 3 4 host-4:7104").get(), .addObserver(shard: 3, node: 4, address: "host-4:7104"))
        XCTAssertEqual(try parse("PROMOTE 3 4").get(), .promote(shard: 3, node: 4))
        XCTAssertEqual(try parse("REMOVE 3 4").get(), .remove(shard: 3, node: 4))
        XCTAssertEqual(try parse("TRANSFER 3 4").get(), .transfer(shard: 3, node: 4))
        XCTAssertEqual(try parse("SNAPSHOT 3").get(), .snapshot(shard: 3))
        XCTAssertEqual(try parse("EXPORT 3 /tmp/x").get(), .export(shard: 3, directory: "/tmp/x"))
        XCTAssertEqual(try parse("STATUS 18446744073709551615").get(), .status(shard: UInt64.max))
    }

    func testMalformedRequestsAreRefusedWithTheRightCode() {
        for bad in ["", " ", "PUT k", "PUT", "PUT  v", "GET", "GET ", "GET a b", "GET  a", "GET a ", "CAS k a", "CAS k a b c", "CAS k  b",
                    "FROB x", "STATUS", "STATUS x", "STATUS -1", "STATUS +3", "STATUS 3 4 5", "STATUS 3 0", "STATUS 3 x", "STATUS 18446744073709551616",
                    "PROMOTE 1", "PROMOTE 1 0", "ADD-OBSERVER 1 2", "ADD-OBSERVER 1 2 nowhere", "ADD-OBSERVER 1 2 h:99999",
                    "EXPORT 1", "PING x", "PUT a\rb c", "PUT k v\r", "GET k\r", " GET k"] {
            XCTAssertEqual(code(bad), .badRequest, "'\(bad)'")
        }
        XCTAssertEqual(code("GET a\u{0}b"), .badRequest, "NUL in a key")
        XCTAssertEqual(code("PUT a\u{0}b v"), .badRequest, "NUL in a key")
        XCTAssertEqual(code("GET \(String(repeating: "k", count: 1025))"), .tooLarge)
        XCTAssertEqual(code("PUT \(String(repeating: "k", count: 1025)) v"), .tooLarge)
        XCTAssertNotNil(try? parse("GET \(String(repeating: "k", count: 1024))").get(), "a 1024-byte key is fine")
        XCTAssertEqual(code("PUT k \(String(repeating: "v", count: (1 << 20) + 1))"), .tooLarge)
        XCTAssertNotNil(try? parse("PUT k \(String(repeating: "v", count: 1 << 20))").get(), "a 1 MiB value is fine")
        XCTAssertEqual(code("CAS k a \(String(repeating: "v", count: (1 << 20) + 1))"), .tooLarge)
    }

    func testRefusalMessagesAreOneLineAndBounded() {
        var garbage = [UInt8](repeating: 0xFF, count: 10_000)
        garbage[5_000] = UInt8(ascii: " ")
        guard case .failure(let refusal) = RequestParser.parse(garbage) else { return XCTFail("garbage parsed") }
        XCTAssertEqual(refusal.code, .badRequest)
        XCTAssertLessThan(refusal.message.utf8.count, 200)
        XCTAssertFalse(refusal.message.contains("\n"))
    }

    func testBinaryValuesSurvive() {
        let value: [UInt8] = (0...255).map(UInt8.init).filter { $0 != 10 && $0 != 13 }
        XCTAssertEqual(try RequestParser.parse(Array("PUT k ".utf8) + value).get(), .put(key: Array("k".utf8), value: value))
        let key: [UInt8] = (1...255).map(UInt8.init).filter { $0 != 10 && $0 != 13 && $0 != 32 }
        XCTAssertEqual(try RequestParser.parse(Array("GET ".utf8) + key).get(), .get(key: key), "a key may hold any other byte")
    }

    func testThroughTheFramerALoneCarriageReturnInAValueIsRefused() {
        var framer = LineFramer()
        let events = framer.feed(Array("PUT k a\rb\r\nPUT k v\r\r\nPUT k v\r\n".utf8))
        let codes = events.map { event -> ClientErrorCode? in
            guard case .line(let line) = event, case .failure(let refusal) = RequestParser.parse(line) else { return nil }
            return refusal.code
        }
        XCTAssertEqual(codes, [.badRequest, .badRequest, nil], "only one carriage return, right before the line end, is ignored")
    }

    /// Shard zero is a well-formed number out of range: the host answers `UNKNOWN_SHARD`.
    func testShardZeroParsesForTheHostToRefuseAsUnknown() {
        XCTAssertEqual(try RequestParser.parse(Array("STATUS 0".utf8)).get(), .status(shard: 0))
        XCTAssertEqual(try RequestParser.parse(Array("SNAPSHOT 0".utf8)).get(), .snapshot(shard: 0))
    }

    func testPlacementTakesNoArguments() {
        XCTAssertEqual(try parse("placement").get(), .placement)
        XCTAssertEqual(code("PLACEMENT 1"), .badRequest)
    }

    func testStatusWithANodeAsksThatHostsReplica() {
        XCTAssertEqual(try RequestParser.parse(Array("STATUS 3 4".utf8)).get(), .replicaStatus(shard: 3, node: 4))
        XCTAssertEqual(try RequestParser.parse(Array("status 3".utf8)).get(), .status(shard: 3), "without a node: this host's replica")
    }
}
