import FlotillaServer
import XCTest

/// Every response shape, byte by byte.
final class ResponseRendererTests: XCTestCase {
    func render(_ response: ClientResponse) -> String { String(decoding: ResponseRenderer.render(response), as: UTF8.self) }

    func testEveryResponse() {
        XCTAssertEqual(render(.ok), "OK\n")
        XCTAssertEqual(render(.okIndex(5)), "OK 5\n")
        XCTAssertEqual(render(.exported(index: 5, file: "/a/b")), "OK 5 /a/b\n")
        XCTAssertEqual(render(.value(Array("a b".utf8))), "VALUE a b\n")
        XCTAssertEqual(render(.value([])), "VALUE \n")
        XCTAssertEqual(render(.notFound), "NOT_FOUND\n")
        XCTAssertEqual(render(.mismatch), "MISMATCH\n")
        XCTAssertEqual(render(.shard(3)), "SHARD 3\n")
        XCTAssertEqual(render(.pong), "PONG\n")
        XCTAssertEqual(render(.status("shard=3 replica=2")), "shard=3 replica=2\n")
    }

    func testEveryErrorCode() {
        let codes: [(ClientErrorCode, String)] = [(.badRequest, "BAD_REQUEST"), (.tooLarge, "TOO_LARGE"), (.unknownShard, "UNKNOWN_SHARD"),
                                                  (.noLeader, "NO_LEADER"), (.timeout, "TIMEOUT"), (.notCaughtUp, "NOT_CAUGHT_UP"),
                                                  (.busy, "BUSY"), (.shuttingDown, "SHUTTING_DOWN"), (.internalError, "INTERNAL")]
        for (code, text) in codes {
            XCTAssertEqual(render(.error(code, "why")), "ERR \(text) why\n")
        }
    }

    func testEngineTextNeverBreaksTheOneLineRule() {
        XCTAssertEqual(render(.error(.busy, "two\nlines")), "ERR BUSY two lines\n")
        XCTAssertEqual(render(.error(.internalError, "a\r\nb\rc")), "ERR INTERNAL a b c\n")
        XCTAssertEqual(render(.status("shard=1\nrole=leader")), "shard=1 role=leader\n")
    }

    func testBinaryValueBytesAreWrittenAsTheyAre() {
        let value: [UInt8] = (0...255).map(UInt8.init).filter { $0 != 10 && $0 != 13 }
        XCTAssertEqual(ResponseRenderer.render(.value(value)), Array("VALUE ".utf8) + value + [10])
    }
}
