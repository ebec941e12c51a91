import FlotillaHost
import FlotillaRaft
import XCTest

/// Log entries of the key-value state machine decode to what was encoded, for every command
/// (seeded random, edges included); entries from before expiry existed (no time prefix) still
/// decode, with time 0; and every truncation, trailing byte or unknown tag is refused.
final class KeyValueEntryTests: XCTestCase {
    func testRandomEntriesRoundTrip() throws {
        var generator = KeyValueCommandGenerator(seed: 11)
        var tags = Set<UInt8>()
        for round in 0..<3_000 {
            let entry = KeyValueEntry(timeMilliseconds: generator.time(), command: generator.command())
            let encoded = entry.encoded()
            XCTAssertEqual(try KeyValueEntry(decoding: encoded), entry, "round \(round)")
            tags.insert(encoded[9])
        }
        XCTAssertEqual(tags, Set(1...9), "every command was generated")
    }

    func testLayout() {
        let entry = KeyValueEntry(timeMilliseconds: 0x0102_0304_0506_0708, command: .delete(key: [0xAA]))
        XCTAssertEqual(entry.encoded(), [0x80, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 2, 1, 0, 0, 0, 0xAA])
    }

    /// A blob as the log has always written it: a little-endian UInt32 length, then the bytes.
    func blob(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8(bytes.count & 0xFF), UInt8((bytes.count >> 8) & 0xFF), UInt8((bytes.count >> 16) & 0xFF), UInt8(bytes.count >> 24)] + bytes
    }

    func testLegacyEntriesDecodeWithTimeZero() throws {
        let key = Array("key".utf8)
        let value: [UInt8] = [0, 0x80, 0xFF]
        XCTAssertEqual(try KeyValueEntry(decoding: [1] + blob(key) + blob(value)),
                       KeyValueEntry(timeMilliseconds: 0, command: .put(key: key, value: value)))
        XCTAssertEqual(try KeyValueEntry(decoding: [2] + blob(key)), KeyValueEntry(timeMilliseconds: 0, command: .delete(key: key)))
        XCTAssertEqual(try KeyValueEntry(decoding: [3] + blob(key) + blob([]) + blob(value)),
                       KeyValueEntry(timeMilliseconds: 0, command: .compareAndSet(key: key, expected: [], new: value)))
        let legacy = [1] + blob(key) + blob(value)
        for cut in 0..<legacy.count {
            XCTAssertThrowsError(try KeyValueEntry(decoding: Array(legacy[..<cut])), "legacy cut at \(cut)")
        }
    }

    func testEveryTruncationThrows() {
        var generator = KeyValueCommandGenerator(seed: 12)
        for _ in 0..<300 {
            let encoded = KeyValueEntry(timeMilliseconds: generator.time(), command: generator.command()).encoded()
            for cut in 0..<encoded.count {
                XCTAssertThrowsError(try KeyValueEntry(decoding: Array(encoded[..<cut])), "cut at \(cut) of \(encoded)")
            }
            XCTAssertThrowsError(try KeyValueEntry(decoding: encoded + [0]), "a trailing byte")
        }
    }

    func testMalformedFieldsAreRefused() {
        let time: [UInt8] = [0x80, 0, 0, 0, 0, 0, 0, 0, 0]
        XCTAssertThrowsError(try KeyValueEntry(decoding: time + [10]), "unknown tag")
        XCTAssertThrowsError(try KeyValueEntry(decoding: [0]), "unknown legacy tag")
        XCTAssertThrowsError(try KeyValueEntry(decoding: []), "empty")
        let set = time + [4] + blob([1]) + blob([2])
        XCTAssertNoThrow(try KeyValueEntry(decoding: set + [0, 0, 0]))
        XCTAssertThrowsError(try KeyValueEntry(decoding: set + [3, 0, 0]), "condition 3")
        XCTAssertThrowsError(try KeyValueEntry(decoding: set + [0, 4, 0]), "expiry tag 4")
        XCTAssertThrowsError(try KeyValueEntry(decoding: set + [0, 0, 2]), "boolean 2")
        XCTAssertThrowsError(try KeyValueEntry(decoding: time + [2, 0xFF, 0xFF, 0xFF, 0xFF]), "a key length over the limit")
        XCTAssertThrowsError(try KeyValueEntry(decoding: time + [9, 0xFF, 0xFF, 0xFF, 0xFF]), "a sweep of 4 billion keys")
        XCTAssertEqual(try KeyValueEntry(decoding: time + [9, 0, 0, 0, 0]), KeyValueEntry(timeMilliseconds: 0, command: .sweep(keys: [])))
    }
}

/// Random `KeyValueCommand`s from a seed, drawn often from the edges.
struct KeyValueCommandGenerator {
    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    mutating func below(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }

    mutating func bytes(upTo countMax: Int) -> [UInt8] { (0..<below(countMax + 1)).map { _ in UInt8(truncatingIfNeeded: random.next()) } }

    mutating func time() -> UInt64 {
        switch below(4) {
        case 0: return 0
        case 1: return .max
        default: return random.next()
        }
    }

    mutating func signed() -> Int64 {
        switch below(5) {
        case 0: return .min
        case 1: return .max
        case 2: return 0
        case 3: return Int64(below(2_000)) - 1_000
        default: return Int64(bitPattern: random.next())
        }
    }

    mutating func expiry() -> ExpiryChange {
        switch below(4) {
        case 0: return .clear
        case 1: return .keep
        case 2: return .after(milliseconds: signed())
        default: return .at(unixMilliseconds: time())
        }
    }

    mutating func command() -> KeyValueCommand {
        let key = bytes(upTo: 12)
        switch below(9) {
        case 0: return .put(key: key, value: bytes(upTo: 40))
        case 1: return .delete(key: key)
        case 2: return .compareAndSet(key: key, expected: bytes(upTo: 10), new: bytes(upTo: 10))
        case 3:
            return .set(key: key, value: bytes(upTo: 40), condition: [.always, .ifAbsent, .ifPresent][below(3)], expiry: expiry(),
                        returnsPrevious: below(2) == 0)
        case 4: return .increment(key: key, delta: signed())
        case 5: return .append(key: key, suffix: bytes(upTo: 20))
        case 6: return .expire(key: key, expiry: expiry())
        case 7: return .persist(key: key)
        default: return .sweep(keys: (0..<below(5)).map { _ in bytes(upTo: 8) })
        }
    }
}
