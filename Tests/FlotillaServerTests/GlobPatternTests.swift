@testable import FlotillaServer
import XCTest

/// `SCAN ... MATCH` patterns match as Redis's do: the usual cases by hand, then many seeded
/// random patterns and keys (heavy in `*`, `?`, `[`, `]`, `^`, `-` and `\`) against a plain
/// recursive matcher that follows Redis's `stringmatchlen` rule by rule.
final class GlobPatternTests: XCTestCase {
    func matches(_ pattern: String, _ text: String) -> Bool { GlobPattern(Array(pattern.utf8)).matches(Array(text.utf8)) }

    func testUsualPatterns() {
        XCTAssertTrue(matches("*", "anything"))
        XCTAssertTrue(matches("user:*", "user:42"))
        XCTAssertFalse(matches("user:*", "users:42"))
        XCTAssertTrue(matches("*:42", "user:42"))
        XCTAssertTrue(matches("h?llo", "hello"))
        XCTAssertFalse(matches("h?llo", "hllo"))
        XCTAssertTrue(matches("h*llo", "hllo"))
        XCTAssertTrue(matches("h*llo", "heeeello"))
        XCTAssertTrue(matches("h[ae]llo", "hallo"))
        XCTAssertFalse(matches("h[ae]llo", "hillo"))
        XCTAssertTrue(matches("h[^e]llo", "hallo"))
        XCTAssertFalse(matches("h[^e]llo", "hello"))
        XCTAssertTrue(matches("h[a-c]llo", "hbllo"))
        XCTAssertTrue(matches("h[c-a]llo", "hbllo"), "a reversed range is the same range")
        XCTAssertFalse(matches("h[a-c]llo", "hdllo"))
        XCTAssertTrue(matches("\\*", "*"))
        XCTAssertFalse(matches("\\*", "a"))
        XCTAssertTrue(matches("a\\?b", "a?b"))
        XCTAssertFalse(matches("a\\?b", "axb"))
        XCTAssertTrue(matches("[\\]]", "]"))
        XCTAssertFalse(matches("[]]", "]"), "an empty class matches nothing, and the ] after it is literal")
        XCTAssertTrue(matches("a*b*c", "aXbYc"))
        XCTAssertFalse(matches("a*b*c", "aXbYd"))
        XCTAssertTrue(matches("ab**", "ab"))
        XCTAssertTrue(matches("\\", "\\"), "a lone backslash at the end is itself")
        XCTAssertTrue(matches("[abc", "b"), "an unclosed class runs to the end of the pattern")
        XCTAssertFalse(matches("[abc", "bc"))
        XCTAssertTrue(matches("[^", "x"))
        XCTAssertFalse(matches("[", "["))
    }

    func testDashBeforeTheClosingBracketIsARangeAsInRedis() {
        // Redis reads `[a-]` as the range `]`..`a`, and the class as unclosed.
        XCTAssertTrue(matches("[a-]", "a"))
        XCTAssertTrue(matches("[a-]", "_"))
        XCTAssertFalse(matches("[a-]", "-"))
        XCTAssertFalse(matches("[a-]x", "ax"), "the class swallowed the rest of the pattern")
    }

    func testBinaryBytes() {
        XCTAssertTrue(GlobPattern([0x00, 0x2A, 0xFF]).matches([0x00, 0x01, 0x02, 0xFF]))
        XCTAssertTrue(GlobPattern(Array("[".utf8) + [0x00] + Array("-".utf8) + [0x10] + Array("]".utf8)).matches([0x05]))
    }

    func testRandomPatternsAgreeWithTheReference() {
        var random = TestRandom(seed: 77)
        let patternAlphabet = Array("ab*?[]^-\\".utf8)
        let textAlphabet = Array("ab-]^\\[*".utf8)
        var matched = 0
        for round in 0..<60_000 {
            let pattern = (0..<random.below(9)).map { _ in patternAlphabet[random.below(patternAlphabet.count)] }
            // Keys are never empty.
            let text = (0..<(1 + random.below(7))).map { _ in textAlphabet[random.below(textAlphabet.count)] }
            let expected = Self.reference(pattern[...], text[...])
            if expected { matched += 1 }
            XCTAssertEqual(GlobPattern(pattern).matches(text), expected,
                           "round \(round): pattern '\(String(decoding: pattern, as: UTF8.self))' text '\(String(decoding: text, as: UTF8.self))'")
        }
        XCTAssertGreaterThan(matched, 1_000, "the random cases include plenty of matches")
    }

    /// Redis's glob rules, recursively and without shortcuts.
    static func reference(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        guard let first = pattern.first else { return text.isEmpty }
        let rest = pattern.dropFirst()
        switch first {
        case UInt8(ascii: "*"):
            return (0...text.count).contains { reference(rest, text.dropFirst($0)) }
        case UInt8(ascii: "?"):
            return !text.isEmpty && reference(rest, text.dropFirst())
        case UInt8(ascii: "["):
            guard let byte = text.first else { return false }
            var cursor = rest
            let negated = cursor.first == UInt8(ascii: "^")
            if negated { cursor = cursor.dropFirst() }
            var found = false
            while true {
                if cursor.count >= 2, cursor.first == UInt8(ascii: "\\") {
                    if cursor[cursor.startIndex + 1] == byte { found = true }
                    cursor = cursor.dropFirst(2)
                } else if cursor.isEmpty {
                    break
                } else if cursor.first == UInt8(ascii: "]") {
                    cursor = cursor.dropFirst()
                    break
                } else if cursor.count >= 3, cursor[cursor.startIndex + 1] == UInt8(ascii: "-") {
                    let ends = [cursor[cursor.startIndex], cursor[cursor.startIndex + 2]]
                    if byte >= ends.min()!, byte <= ends.max()! { found = true }
                    cursor = cursor.dropFirst(3)
                } else {
                    if cursor.first == byte { found = true }
                    cursor = cursor.dropFirst()
                }
            }
            return found != negated && reference(cursor, text.dropFirst())
        case UInt8(ascii: "\\") where rest.count >= 1:
            return text.first == rest.first && reference(rest.dropFirst(), text.dropFirst())
        default:
            return text.first == first && reference(rest, text.dropFirst())
        }
    }
}
