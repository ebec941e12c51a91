import FlotillaServer
import XCTest

/// The framer, byte by byte: splits anywhere, pipelined lines, line ends, the size limit.
final class LineFramerTests: XCTestCase {
    func testSplitAnywhereGivesTheSameLines() {
        let stream = Array("PUT a 1\r\nGET a\nPING\n\nPUT b x y\r\n".utf8)
        let expected: [LineFramer.Event] = [.line(Array("PUT a 1".utf8)), .line(Array("GET a".utf8)), .line(Array("PING".utf8)), .line([]),
                                            .line(Array("PUT b x y".utf8))]
        for split in 0...stream.count {
            var framer = LineFramer()
            XCTAssertEqual(framer.feed(stream[0..<split]) + framer.feed(stream[split...]), expected, "split at \(split)")
        }
        for first in 0...stream.count {
            for second in first...stream.count {
                var framer = LineFramer()
                let events = framer.feed(stream[0..<first]) + framer.feed(stream[first..<second]) + framer.feed(stream[second...])
                XCTAssertEqual(events, expected, "split at \(first) and \(second)")
            }
        }
    }

    func testByteByByte() {
        var framer = LineFramer()
        var events: [LineFramer.Event] = []
        for byte in Array("A\r\nB\n".utf8) { events += framer.feed([byte]) }
        XCTAssertEqual(events, [.line([65]), .line([66])])
    }

    func testPipelinedLinesInOneChunkAndAPartialTail() {
        var framer = LineFramer()
        XCTAssertEqual(framer.feed(Array("PING\nPING\nPI".utf8)), [.line(Array("PING".utf8)), .line(Array("PING".utf8))])
        XCTAssertEqual(framer.feed(Array("NG".utf8)), [])
        XCTAssertEqual(framer.feed(Array("\n".utf8)), [.line(Array("PING".utf8))])
    }

    func testBinaryBytesPassThrough() {
        let body: [UInt8] = (0...255).map(UInt8.init).filter { $0 != 10 }
        var framer = LineFramer()
        XCTAssertEqual(framer.feed(body + [10]), [.line(body)], "only the \\n ends a line; a \\r inside is kept for the parser to refuse")
    }

    func testOnlyTheCarriageReturnBeforeTheLineEndIsRemoved() {
        var framer = LineFramer()
        XCTAssertEqual(framer.feed(Array("a\r\r\n\rb\n".utf8)), [.line(Array("a\r".utf8)), .line(Array("\rb".utf8))])
    }

    func testOversizedLineIsReportedAsSoonAsTheLimitIsPassed() {
        var framer = LineFramer(lineBytesMax: 10)
        XCTAssertEqual(framer.feed(Array("0123456789".utf8)), [], "exactly at the limit is still fine")
        XCTAssertEqual(framer.feed(Array("x".utf8)), [.tooLarge], "one byte over, without waiting for the line end")
        XCTAssertEqual(framer.feed(Array("more\nGET a\n".utf8)), [], "nothing after an oversized line")
        var exact = LineFramer(lineBytesMax: 10)
        XCTAssertEqual(exact.feed(Array("0123456789\r\n".utf8)), [.line(Array("0123456789".utf8))], "the line end does not count")
        var carriageReturn = LineFramer(lineBytesMax: 10)
        XCTAssertEqual(carriageReturn.feed(Array("0123456789\r".utf8)), [], "a \\r may yet turn out to be the line end")
        XCTAssertEqual(carriageReturn.feed(Array("x".utf8)), [.tooLarge], "it was not")
    }

    func testOversizedLineAfterGoodLinesInOneChunk() {
        var framer = LineFramer(lineBytesMax: 10)
        XCTAssertEqual(framer.feed(Array("PING\nGET a\n0123456789012345\nPING\n".utf8)),
                       [.line(Array("PING".utf8)), .line(Array("GET a".utf8)), .tooLarge])
    }

    func testTheDefaultLimitIsOneMebibytePlusTwoKibibytes() {
        XCTAssertEqual(LineProtocolLimits.lineBytesMax, 1_048_576 + 2_048)
        var framer = LineFramer()
        let atLimit = [UInt8](repeating: UInt8(ascii: "v"), count: LineProtocolLimits.lineBytesMax)
        XCTAssertEqual(framer.feed(atLimit + [10]), [.line(atLimit)])
        XCTAssertEqual(framer.feed(atLimit), [])
        XCTAssertEqual(framer.feed([UInt8(ascii: "v")]), [.tooLarge])
    }
}
