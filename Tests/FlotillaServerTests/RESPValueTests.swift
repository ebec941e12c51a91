import FlotillaServer
import XCTest

/// Every kind of RESP2 reply renders to Redis's exact bytes, nesting included, and simple
/// strings and errors never break their line.
final class RESPValueTests: XCTestCase {
    func text(_ value: RESPValue) -> String { String(decoding: value.bytes, as: UTF8.self) }

    func testEveryKind() {
        XCTAssertEqual(text(.ok), "+OK\r\n")
        XCTAssertEqual(text(.simple("PONG")), "+PONG\r\n")
        XCTAssertEqual(text(.error("ERR syntax error")), "-ERR syntax error\r\n")
        XCTAssertEqual(text(.integer(0)), ":0\r\n")
        XCTAssertEqual(text(.integer(-2)), ":-2\r\n")
        XCTAssertEqual(text(.integer(Int64.min)), ":-9223372036854775808\r\n")
        XCTAssertEqual(text(.integer(Int64.max)), ":9223372036854775807\r\n")
        XCTAssertEqual(text(.bulk("hello")), "$5\r\nhello\r\n")
        XCTAssertEqual(text(.bulk([])), "$0\r\n\r\n")
        XCTAssertEqual(text(.null), "$-1\r\n")
        XCTAssertEqual(text(.nullArray), "*-1\r\n")
        XCTAssertEqual(text(.array([])), "*0\r\n")
    }

    func testBulkIsBinarySafe() {
        XCTAssertEqual(RESPValue.bulk([0x0D, 0x0A, 0x00, 0xFF]).bytes, Array("$4\r\n".utf8) + [0x0D, 0x0A, 0x00, 0xFF] + [0x0D, 0x0A])
    }

    func testNestedArrays() {
        let value = RESPValue.array([.bulk("0"), .array([.bulk("a"), .null, .integer(3)]), .array([]), .nullArray, .simple("x")])
        XCTAssertEqual(text(value), "*5\r\n$1\r\n0\r\n*3\r\n$1\r\na\r\n$-1\r\n:3\r\n*0\r\n*-1\r\n+x\r\n")
    }

    func testSimpleStringsAndErrorsStayOnOneLine() {
        XCTAssertEqual(text(.error("ERR bad\r\nthing\nhere\rnow")), "-ERR bad thing here now\r\n")
        XCTAssertEqual(text(.simple("a\nb")), "+a b\r\n")
    }

    func testAppendAddsToWhatIsThere() {
        var output = Array("x".utf8)
        RESPValue.integer(1).append(to: &output)
        XCTAssertEqual(String(decoding: output, as: UTF8.self), "x:1\r\n")
    }
}
