@testable import FlotillaServer
import XCTest

/// The RESP2 parser gives the same events however its input is cut (whole, byte by byte, at
/// seeded random places): commands, pipelines, binary bulks, empty commands and lines, every
/// size limit (refused as soon as the length is read), every malformed header, inline quoting,
/// and silence after the first error.
final class RESPParserTests: XCTestCase {
    typealias Event = RESPParser.Event

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func command(_ words: String...) -> Event { .command(words.map { Array($0.utf8) }) }

    /// The events of `stream` fed in the given chunk sizes (the rest in one last chunk).
    func events(_ stream: [UInt8], chunks: [Int], limits: RESPParser.Limits = RESPParser.Limits()) -> [Event] {
        var parser = RESPParser(limits: limits)
        var events: [Event] = []
        var index = 0
        for size in chunks where index < stream.count {
            let end = min(stream.count, index + size)
            events += parser.feed(stream[index..<end])
            index = end
        }
        if index < stream.count { events += parser.feed(stream[index...]) }
        return events
    }

    /// Feeds `stream` whole, one byte at a time and in 50 seeded random splits, and checks
    /// that each way gives `expected`.
    func check(_ stream: [UInt8], _ expected: [Event], limits: RESPParser.Limits = RESPParser.Limits(),
               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(events(stream, chunks: [], limits: limits), expected, "whole", file: file, line: line)
        XCTAssertEqual(events(stream, chunks: Array(repeating: 1, count: stream.count), limits: limits), expected,
                       "byte by byte", file: file, line: line)
        var random = TestRandom(seed: UInt64(stream.count) &* 7919 &+ 1)
        for round in 0..<50 {
            var chunks: [Int] = []
            var total = 0
            while total < stream.count {
                let size = 1 + random.below(max(1, min(stream.count, 12)))
                chunks.append(size)
                total += size
            }
            XCTAssertEqual(events(stream, chunks: chunks, limits: limits), expected, "random split \(round): \(chunks)",
                           file: file, line: line)
        }
    }

    func check(_ text: String, _ expected: [Event], limits: RESPParser.Limits = RESPParser.Limits(),
               file: StaticString = #filePath, line: UInt = #line) {
        check(bytes(text), expected, limits: limits, file: file, line: line)
    }

    func testOneArrayCommand() {
        check("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", [command("GET", "k")])
    }

    func testPipelinedCommandsOfBothForms() {
        check("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nECHO  x\n",
              [command("SET", "k", "hello"), command("PING"), command("GET", "k"), command("ECHO", "x")])
    }

    func testBulkDataIsBinarySafe() {
        let value: [UInt8] = [0x0D, 0x0A, 0x00, 0x2A, 0x24, 0x0D, 0xFF, 0x0A]
        let stream = bytes("*2\r\n$4\r\nECHO\r\n$8\r\n") + value + bytes("\r\n")
        check(stream, [.command([bytes("ECHO"), value])])
    }

    func testEmptyBulkString() {
        check("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", [.command([bytes("SET"), bytes("k"), []])])
    }

    func testEmptyAndNullArraysAreNothingToAnswer() {
        check("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n*0\r\n", [command("PING")])
    }

    func testEmptyInlineLinesAreIgnored() {
        check("\r\n\n   \r\n\t\nPING\r\n\r\n", [command("PING")])
    }

    func testBulkOverTheLimitIsRefusedAsSoonAsItsHeaderIsRead() {
        var limits = RESPParser.Limits()
        limits.bulkBytesMax = 10
        var parser = RESPParser(limits: limits)
        XCTAssertEqual(parser.feed(bytes("*2\r\n$3\r\nGET\r\n$10")), [])
        let events = parser.feed(bytes("00000000\r\n"))
        XCTAssertEqual(events.count, 1, "refused before any of the data arrived")
        guard case .tooLarge(let message) = events.first else { return XCTFail("\(events)") }
        XCTAssertTrue(message.contains("1000000000"), message)
        XCTAssertEqual(parser.feed(bytes(String(repeating: "x", count: 100))), [], "nothing after the refusal")
        check("*1\r\n$11\r\n", [.tooLarge("bulk string of 11 bytes is over the 10-byte limit")], limits: limits)
        check("*1\r\n$10\r\n0123456789\r\n", [command("0123456789")], limits: limits)
    }

    func testTooManyArgumentsAreRefusedAtTheArrayHeader() {
        var limits = RESPParser.Limits()
        limits.argumentsMax = 3
        check("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", [command("a", "b", "c")], limits: limits)
        check("*4\r\n", [.tooLarge("command of 4 arguments is over the 3-argument limit")], limits: limits)
    }

    func testCommandOverTheTotalLimitIsRefused() {
        var limits = RESPParser.Limits()
        limits.commandBytesMax = 8
        check("*2\r\n$4\r\nabcd\r\n$4\r\nefgh\r\n*1\r\n$4\r\nPING\r\n", [command("abcd", "efgh"), command("PING")], limits: limits)
        check("*2\r\n$4\r\nabcd\r\n$5\r\n", [.tooLarge("command over 8 bytes")], limits: limits)
    }

    func testInlineCommandOverTheLimitIsRefusedBeforeItsEnd() {
        var limits = RESPParser.Limits()
        limits.inlineBytesMax = 16
        check("PING 0123456789\r\n", [command("PING", "0123456789")], limits: limits)
        var parser = RESPParser(limits: limits)
        XCTAssertEqual(parser.feed(bytes(String(repeating: "a", count: 17))), [.tooLarge("inline command over 16 bytes")],
                       "refused without waiting for the end of the line")
        XCTAssertEqual(parser.feed(bytes("\r\nPING\r\n")), [])
    }

    func testMalformedHeadersAreProtocolErrors() {
        check("*x\r\n", [.protocolError("Protocol error: invalid multibulk length")])
        check("*\r\n", [.protocolError("Protocol error: invalid multibulk length")])
        check("*1x\r\n", [.protocolError("Protocol error: invalid multibulk length")])
        check("*1\r\n$-5\r\n", [.protocolError("Protocol error: invalid bulk length")])
        check("*1\r\n$-1\r\n", [.protocolError("Protocol error: invalid bulk length")])
        check("*1\r\n$x\r\n", [.protocolError("Protocol error: invalid bulk length")])
        check("*1\r\n$\r\n", [.protocolError("Protocol error: invalid bulk length")])
        check("*1\r\n+3\r\n", [.protocolError("Protocol error: expected '$', got '+'")])
        check("*1\r\n3\r\nabc\r\n", [.protocolError("Protocol error: expected '$', got '3'")])
        check("*1\r\n\r\n", [.protocolError("Protocol error: expected '$', got 'end of line'")])
        check("*" + String(repeating: "9", count: 30) + "\r\n", [.protocolError("Protocol error: invalid length line")])
        check("*99999999999999999999\r\n", [.protocolError("Protocol error: invalid multibulk length")])
    }

    func testHeaderLinesOfEveryLengthGiveTheSameEventHoweverSplit() {
        // Around the header length limit, with and without the carriage return: a split just
        // before the line end must not change the verdict.
        for digits in 18...28 {
            let number = String(repeating: "9", count: digits)
            let expected = events(bytes("*\(number)\r\n"), chunks: [])
            XCTAssertEqual(expected.count, 1)
            check("*\(number)\r\n", expected)
            check("*1\r\n$\(number)\r\n", events(bytes("*1\r\n$\(number)\r\n"), chunks: []))
        }
    }

    func testHeaderThatNeverEndsIsRefusedBeforeItsEnd() {
        var parser = RESPParser()
        XCTAssertEqual(parser.feed(bytes("*" + String(repeating: "1", count: 40))), [.protocolError("Protocol error: invalid length line")])
    }

    func testBulkNotFollowedByLineEnd() {
        check("*1\r\n$3\r\nabcX\r\n", [.protocolError("Protocol error: bulk string not followed by CRLF")])
        check("*1\r\n$3\r\nabc\rX", [.protocolError("Protocol error: bulk string not followed by CRLF")])
        check("*1\r\n$3\r\nabc\n", [.protocolError("Protocol error: bulk string not followed by CRLF")])
        check("*1\r\n$0\r\nX", [.protocolError("Protocol error: bulk string not followed by CRLF")])
    }

    func testCommandsBeforeAnErrorAreKeptAndNothingFollowsIt() {
        check("PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n*1\r\n$4\r\nPING\r\n",
              [command("PING"), command("PING"), .protocolError("Protocol error: invalid multibulk length")])
        var parser = RESPParser()
        XCTAssertEqual(parser.feed(bytes("\"open\r\n")), [.protocolError("Protocol error: unbalanced quotes in request")])
        XCTAssertEqual(parser.feed(bytes("PING\r\n")), [])
        XCTAssertEqual(parser.feed(bytes("*1\r\n$4\r\nPING\r\n")), [])
    }

    func testInlineWordsAndQuoting() {
        check("SET k v\r\n", [command("SET", "k", "v")])
        check("  set\t k   v  \r\n", [command("set", "k", "v")])
        check("SET \"a b\" c\r\n", [command("SET", "a b", "c")])
        check("ECHO \"\\x41\\x4a\\x4A\"\r\n", [command("ECHO", "AJJ")])
        check("ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\\q\"\r\n", [command("ECHO", "\n\r\t\u{8}\u{7}\\\"q")])
        check("ECHO \"\\xZZ\"\r\n", [command("ECHO", "xZZ")])  // not hex: the x is taken as it is
        check("ECHO \"\\x4\"\r\n", [command("ECHO", "x4")])
        check("ECHO 'it\\'s' ''\r\n", [command("ECHO", "it's", "")])
        check("ECHO 'a \\n b'\r\n", [command("ECHO", "a \\n b")])  // single quotes keep backslashes
        check("ECHO \"\"\r\n", [command("ECHO", "")])
        check("ECHO \"\\x00\"\r\n", [.command([bytes("ECHO"), [0]])])
        // As in Redis, a quote may open inside a word, and its closing ends the word.
        check("ECHO a\"b c\" d\r\n", [command("ECHO", "ab c", "d")])
        check("ECHO x'y z'\r\n", [command("ECHO", "xy z")])
    }

    func testUnbalancedOrMisplacedQuotesAreProtocolErrors() {
        let unbalanced = Event.protocolError("Protocol error: unbalanced quotes in request")
        for text in ["ECHO \"abc\r\n", "ECHO 'abc\r\n", "ECHO \"a\"b\r\n", "ECHO 'it''s'\r\n", "ECHO 'a'b\r\n",
                     "ECHO \"abc\\\"\r\n", "ECHO \"abc\\\r\n", "\"\r\n", "ECHO a\"b\r\n", "ECHO a\"b\"c\r\n"] {
            check(text, [unbalanced])
        }
    }

    func testPartialCommandProducesNothingUntilComplete() {
        var parser = RESPParser()
        let stream = bytes("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        for byte in stream.dropLast() { XCTAssertEqual(parser.feed([byte]), []) }
        XCTAssertEqual(parser.feed([stream.last!]), [command("GET", "k")])
    }

    func testRandomPipelinesGiveTheSameCommandsHoweverSplit() {
        var random = TestRandom(seed: 2024)
        for _ in 0..<40 {
            var stream: [UInt8] = []
            var expected: [Event] = []
            for _ in 0..<(1 + random.below(6)) {
                if random.below(3) == 0 {
                    let words = (0..<(1 + random.below(3))).map { _ in String(repeating: "w", count: 1 + random.below(5)) }
                    stream += bytes(words.joined(separator: " ") + (random.below(2) == 0 ? "\r\n" : "\n"))
                    expected.append(.command(words.map(bytes)))
                } else {
                    let arguments = (0..<(1 + random.below(4))).map { _ in (0..<random.below(20)).map { _ in UInt8(random.below(256)) } }
                    stream += bytes("*\(arguments.count)\r\n")
                    for argument in arguments { stream += bytes("$\(argument.count)\r\n") + argument + bytes("\r\n") }
                    expected.append(.command(arguments))
                }
            }
            check(stream, expected)
        }
    }
}
