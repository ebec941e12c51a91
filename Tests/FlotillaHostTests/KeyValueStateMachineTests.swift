import FlotillaHost
import FlotillaRaft
import XCTest

/// The key-value state machine's apply rules at an entry's time: `put` and `compareAndSet`
/// clear expiry, `SET` conditions and keep-TTL, integers read as Redis reads them, overflow and
/// the append limit change nothing, expiry judged by the entry's time (a past or zero expiry
/// deletes), `persist`, the leader's sweeps, and paging through keys in `ScanOrder`.
final class KeyValueStateMachineTests: XCTestCase {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// A machine holding `k` = `v`, expiring at 2 000.
    func machineWithExpiringKey() -> KeyValueStateMachine {
        var machine = KeyValueStateMachine()
        machine.apply(.set(key: bytes("k"), value: bytes("v"), condition: .always, expiry: .at(unixMilliseconds: 2_000), returnsPrevious: false), at: 1_000)
        return machine
    }

    func checkDataBytes(_ machine: KeyValueStateMachine, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(machine.dataBytes, machine.values.reduce(0) { $0 + $1.key.count + $1.value.count }, file: file, line: line)
        XCTAssertTrue(machine.expiries.keys.allSatisfy { machine.values[$0] != nil }, "no expiry without its key", file: file, line: line)
    }

    func testExpiryIsJudgedByTheTimeGiven() {
        let machine = machineWithExpiringKey()
        XCTAssertEqual(machine.value(for: bytes("k"), at: 1_999), bytes("v"))
        XCTAssertNil(machine.value(for: bytes("k"), at: 2_000), "due at its expiry exactly")
        XCTAssertEqual(machine.value(for: bytes("k")), bytes("v"), "still stored until swept")
        XCTAssertEqual(machine.timeToLive(of: bytes("k"), at: 1_500), 500)
        XCTAssertEqual(machine.timeToLive(of: bytes("k"), at: 2_000), -2)
        XCTAssertEqual(machine.timeToLive(of: bytes("nope"), at: 0), -2)
        XCTAssertEqual(machine.answer(.timeToLive(key: bytes("k")), at: 1_999), .integer(1))
        XCTAssertEqual(machine.answer(.value(key: bytes("k")), at: 2_500), .value(nil))
        XCTAssertEqual(machine.answer(.count, at: 2_500), .integer(1), "DBSIZE counts keys not yet swept")
    }

    func testPutAndCompareAndSetClearExpiry() {
        var machine = machineWithExpiringKey()
        XCTAssertEqual(machine.apply(.put(key: bytes("k"), value: bytes("w")), at: 1_500), .ok)
        XCTAssertNil(machine.expiries[bytes("k")])
        XCTAssertEqual(machine.timeToLive(of: bytes("k"), at: 5_000), -1)
        machine = machineWithExpiringKey()
        XCTAssertEqual(machine.apply(.compareAndSet(key: bytes("k"), expected: bytes("v"), new: bytes("w")), at: 1_500), .ok)
        XCTAssertNil(machine.expiries[bytes("k")])
        machine = machineWithExpiringKey()
        XCTAssertEqual(machine.apply(.compareAndSet(key: bytes("k"), expected: bytes("v"), new: bytes("w")), at: 2_000), .mismatch,
                       "an expired key matches nothing")
        XCTAssertEqual(machine.apply(.delete(key: bytes("k")), at: 2_000), .existed(false))
        XCTAssertNil(machine.value(for: bytes("k")))
        checkDataBytes(machine)
    }

    func testSetConditionsCountExpiredKeysAsAbsent() {
        var machine = machineWithExpiringKey()
        let k = bytes("k")
        XCTAssertEqual(machine.apply(.set(key: k, value: bytes("x"), condition: .ifAbsent, expiry: .clear, returnsPrevious: true), at: 1_500),
                       .stored(false, previous: bytes("v")))
        XCTAssertEqual(machine.value(for: k), bytes("v"))
        XCTAssertEqual(machine.apply(.set(key: k, value: bytes("x"), condition: .ifPresent, expiry: .keep, returnsPrevious: true), at: 1_500),
                       .stored(true, previous: bytes("v")))
        XCTAssertEqual(machine.expiries[k], 2_000, "KEEPTTL keeps the expiry")
        XCTAssertEqual(machine.apply(.set(key: k, value: bytes("y"), condition: .ifPresent, expiry: .clear, returnsPrevious: true), at: 2_000),
                       .stored(false, previous: nil), "expired: XX does not apply")
        XCTAssertEqual(machine.value(for: k, at: 2_000), nil)
        XCTAssertEqual(machine.apply(.set(key: k, value: bytes("z"), condition: .ifAbsent, expiry: .keep, returnsPrevious: true), at: 2_000),
                       .stored(true, previous: nil), "expired: NX applies")
        XCTAssertNil(machine.expiries[k], "an expired key's expiry is not kept")
        XCTAssertEqual(machine.value(for: k, at: 9_999), bytes("z"))
        XCTAssertEqual(machine.apply(.set(key: k, value: bytes("a"), condition: .always, expiry: .after(milliseconds: 100), returnsPrevious: false), at: 3_000),
                       .stored(true, previous: nil), "the previous value only when asked for")
        XCTAssertEqual(machine.expiries[k], 3_100, "relative to the entry's time")
        XCTAssertEqual(machine.apply(.set(key: k, value: bytes("b"), condition: .always, expiry: .clear, returnsPrevious: false), at: 3_000),
                       .stored(true, previous: nil))
        XCTAssertNil(machine.expiries[k], "plain SET clears the expiry")
        machine.apply(.set(key: k, value: bytes("c"), condition: .always, expiry: .after(milliseconds: Int64.max), returnsPrevious: false), at: 3_000)
        XCTAssertEqual(machine.expiries[k], 3_000 + UInt64(Int64.max))
        machine.apply(.set(key: k, value: bytes("c"), condition: .always, expiry: .at(unixMilliseconds: UInt64.max), returnsPrevious: false), at: 3_000)
        XCTAssertEqual(machine.timeToLive(of: k, at: 0), Int64.max, "clamped")
        checkDataBytes(machine)
    }

    func testIncrementReadsIntegersAsRedisDoes() {
        var machine = KeyValueStateMachine()
        for (text, valid) in [("0", true), ("-1", true), ("12", true), ("9223372036854775807", true), ("-9223372036854775808", true),
                              ("-0", false), ("+1", false), (" 1", false), ("1 ", false), ("01", false), ("", false), ("-", false),
                              ("1.0", false), ("9223372036854775808", false), ("-9223372036854775809", false), ("00", false),
                              ("99999999999999999999", false), ("1e3", false)] {
            machine.apply(.put(key: bytes("n"), value: bytes(text)))
            let result = machine.apply(.increment(key: bytes("n"), delta: 0))
            if valid {
                XCTAssertEqual(result, .integer(Int64(text)!), "'\(text)'")
            } else {
                XCTAssertEqual(result, .notInteger, "'\(text)'")
                XCTAssertEqual(machine.value(for: bytes("n")), bytes(text), "'\(text)' left as it was")
            }
        }
    }

    func testIncrementAtTheBoundsChangesNothing() {
        var machine = KeyValueStateMachine()
        XCTAssertEqual(machine.apply(.increment(key: bytes("n"), delta: 5)), .integer(5), "absent counts as 0")
        XCTAssertEqual(machine.apply(.increment(key: bytes("n"), delta: -7)), .integer(-2))
        XCTAssertEqual(machine.value(for: bytes("n")), bytes("-2"))
        machine.apply(.put(key: bytes("n"), value: bytes("9223372036854775807")))
        XCTAssertEqual(machine.apply(.increment(key: bytes("n"), delta: 1)), .overflow)
        XCTAssertEqual(machine.value(for: bytes("n")), bytes("9223372036854775807"))
        machine.apply(.put(key: bytes("n"), value: bytes("-9223372036854775808")))
        XCTAssertEqual(machine.apply(.increment(key: bytes("n"), delta: -1)), .overflow)
        XCTAssertEqual(machine.value(for: bytes("n")), bytes("-9223372036854775808"))
        XCTAssertEqual(machine.apply(.increment(key: bytes("n"), delta: Int64.max)), .integer(-1))
        XCTAssertEqual(machine.apply(.increment(key: bytes("m"), delta: Int64.min)), .integer(Int64.min))
        checkDataBytes(machine)
    }

    func testIncrementAndAppendKeepALiveExpiryAndDropAnExpiredOne() {
        var machine = KeyValueStateMachine()
        machine.apply(.set(key: bytes("n"), value: bytes("1"), condition: .always, expiry: .at(unixMilliseconds: 2_000), returnsPrevious: false), at: 1_000)
        XCTAssertEqual(machine.apply(.increment(key: bytes("n"), delta: 1), at: 1_500), .integer(2))
        XCTAssertEqual(machine.expiries[bytes("n")], 2_000)
        XCTAssertEqual(machine.apply(.increment(key: bytes("n"), delta: 1), at: 2_000), .integer(1), "expired: starts from 0")
        XCTAssertNil(machine.expiries[bytes("n")])
        machine.apply(.set(key: bytes("s"), value: bytes("ab"), condition: .always, expiry: .at(unixMilliseconds: 2_000), returnsPrevious: false), at: 1_000)
        XCTAssertEqual(machine.apply(.append(key: bytes("s"), suffix: bytes("c")), at: 1_999), .integer(3))
        XCTAssertEqual(machine.expiries[bytes("s")], 2_000)
        XCTAssertEqual(machine.apply(.append(key: bytes("s"), suffix: bytes("d")), at: 2_000), .integer(1), "expired: starts empty")
        XCTAssertEqual(machine.value(for: bytes("s")), bytes("d"))
        XCTAssertNil(machine.expiries[bytes("s")])
        checkDataBytes(machine)
    }

    func testAppendUpToTheLimitAndNoFurther() {
        var machine = KeyValueStateMachine()
        let half = [UInt8](repeating: 0x61, count: KeyValueStateMachine.valueBytesMax / 2)
        XCTAssertEqual(machine.apply(.append(key: bytes("s"), suffix: half)), .integer(Int64(half.count)))
        XCTAssertEqual(machine.apply(.append(key: bytes("s"), suffix: half)), .integer(Int64(KeyValueStateMachine.valueBytesMax)))
        XCTAssertEqual(machine.apply(.append(key: bytes("s"), suffix: [0x62])), .tooLarge)
        XCTAssertEqual(machine.value(for: bytes("s"))?.count, KeyValueStateMachine.valueBytesMax)
        XCTAssertEqual(machine.apply(.append(key: bytes("s"), suffix: [])), .integer(Int64(KeyValueStateMachine.valueBytesMax)))
        checkDataBytes(machine)
    }

    func testExpireAndPersist() {
        let k = bytes("k")
        var machine = KeyValueStateMachine()
        XCTAssertEqual(machine.apply(.expire(key: k, expiry: .after(milliseconds: 10)), at: 100), .existed(false))
        machine.apply(.put(key: k, value: bytes("v")), at: 100)
        XCTAssertEqual(machine.apply(.persist(key: k), at: 100), .existed(false), "nothing to persist")
        XCTAssertEqual(machine.apply(.expire(key: k, expiry: .after(milliseconds: 10)), at: 100), .existed(true))
        XCTAssertEqual(machine.expiries[k], 110)
        XCTAssertEqual(machine.apply(.expire(key: k, expiry: .at(unixMilliseconds: 500)), at: 100), .existed(true))
        XCTAssertEqual(machine.expiries[k], 500)
        XCTAssertEqual(machine.apply(.persist(key: k), at: 200), .existed(true))
        XCTAssertNil(machine.expiries[k])
        XCTAssertEqual(machine.value(for: k, at: UInt64.max), bytes("v"))
        machine.apply(.expire(key: k, expiry: .after(milliseconds: 10)), at: 100)
        XCTAssertEqual(machine.apply(.persist(key: k), at: 110), .existed(false), "expired: not there to persist")
        XCTAssertEqual(machine.apply(.expire(key: k, expiry: .after(milliseconds: 10)), at: 110), .existed(false))
        XCTAssertNil(machine.value(for: k), "an expired key met by a write is deleted")
        for (expiry, label) in [(ExpiryChange.after(milliseconds: 0), "zero"), (.after(milliseconds: -5), "negative"),
                                (.at(unixMilliseconds: 50), "past"), (.at(unixMilliseconds: 100), "now")] {
            machine.apply(.put(key: k, value: bytes("v")), at: 100)
            XCTAssertEqual(machine.apply(.expire(key: k, expiry: expiry), at: 100), .existed(true), label)
            XCTAssertNil(machine.value(for: k), "\(label): deleted at once")
            XCTAssertNil(machine.expiries[k], label)
        }
        checkDataBytes(machine)
    }

    func testSweepsTakeDueKeysAndDeleteOnlyThoseStillDue() {
        var machine = KeyValueStateMachine()
        for index in 0..<10 {
            machine.apply(.set(key: bytes("k\(index)"), value: bytes("v"), condition: .always,
                               expiry: .at(unixMilliseconds: UInt64(1_000 + index * 100)), returnsPrevious: false), at: 0)
        }
        machine.apply(.put(key: bytes("plain"), value: bytes("v")), at: 0)
        XCTAssertEqual(machine.nextExpiryMilliseconds, 1_000)
        XCTAssertEqual(machine.takeDueExpiries(at: 999, limit: 100), [])
        XCTAssertEqual(machine.takeDueExpiries(at: 1_400, limit: 3), [bytes("k0"), bytes("k1"), bytes("k2")], "soonest first, at most the limit")
        let rest = machine.takeDueExpiries(at: 1_400, limit: 100)
        XCTAssertEqual(rest, [bytes("k3"), bytes("k4")])
        XCTAssertEqual(machine.takeDueExpiries(at: 1_400, limit: 100), [], "taken keys are not handed out twice")
        machine.requeue(rest)
        XCTAssertEqual(machine.takeDueExpiries(at: 1_400, limit: 100), rest, "a lost sweep hands its keys back")
        // k3 is written again (no expiry) and k4 given a later one before the sweep applies.
        machine.apply(.put(key: bytes("k3"), value: bytes("again")), at: 1_450)
        machine.apply(.set(key: bytes("k4"), value: bytes("v"), condition: .always, expiry: .at(unixMilliseconds: 9_000), returnsPrevious: false), at: 1_450)
        let swept = machine.apply(.sweep(keys: [bytes("k0"), bytes("k1"), bytes("k2"), bytes("k3"), bytes("k4"), bytes("k9"), bytes("plain"), bytes("none")]), at: 1_500)
        XCTAssertEqual(swept, .swept(3))
        for gone in ["k0", "k1", "k2"] { XCTAssertNil(machine.value(for: bytes(gone)), gone) }
        XCTAssertEqual(machine.value(for: bytes("k3")), bytes("again"))
        XCTAssertEqual(machine.value(for: bytes("k4")), bytes("v"))
        XCTAssertEqual(machine.value(for: bytes("k9")), bytes("v"), "not yet due at the sweep's time")
        XCTAssertEqual(machine.value(for: bytes("plain")), bytes("v"))
        machine.requeue([bytes("k3")])
        XCTAssertEqual(machine.takeDueExpiries(at: UInt64.max, limit: 100).map { String(decoding: $0, as: UTF8.self) }.sorted(),
                       ["k4", "k5", "k6", "k7", "k8", "k9"], "stale marks (k3 rewritten, k4 changed) are dropped")
        checkDataBytes(machine)
    }

    func testDueOrderSurvivesManyExpiryChanges() {
        var machine = KeyValueStateMachine()
        for round in 0..<5_000 {
            machine.apply(.set(key: bytes("k\(round % 7)"), value: bytes("v"), condition: .always,
                               expiry: .at(unixMilliseconds: UInt64(10_000 + round)), returnsPrevious: false), at: 0)
        }
        let due = machine.takeDueExpiries(at: UInt64.max, limit: 100)
        XCTAssertEqual(Set(due), Set((0..<7).map { bytes("k\($0)") }))
        XCTAssertEqual(due.count, 7, "each key once, at its current expiry")
    }

    func testPagingWalksEveryLiveKeyOnceInScanOrder() {
        var machine = KeyValueStateMachine()
        var live: Set<[UInt8]> = []
        for index in 0..<300 {
            let key = bytes("key:\(index)")
            if index % 5 == 0 {
                machine.apply(.set(key: key, value: bytes("v"), condition: .always, expiry: .at(unixMilliseconds: 500), returnsPrevious: false), at: 0)
            } else {
                machine.apply(.put(key: key, value: bytes("v")), at: 0)
                live.insert(key)
            }
        }
        for limit in [1, 2, 3, 7, 10, 299, 300, 1_000] {
            var seen: [[UInt8]] = []
            var position: UInt64 = 0
            var pages = 0
            while true {
                let page = machine.keys(from: position, limit: limit, at: 1_000)
                pages += 1
                let positions = page.keys.map(ScanOrder.position(of:))
                XCTAssertEqual(positions, positions.sorted(), "limit \(limit): in ScanOrder")
                XCTAssertTrue(positions.allSatisfy { $0 >= position }, "limit \(limit): nothing before the cursor")
                seen += page.keys
                guard let next = page.next else { break }
                XCTAssertGreaterThanOrEqual(page.keys.count, limit, "limit \(limit): only the last page may be short")
                XCTAssertGreaterThan(next, positions.last!, "limit \(limit): the next page starts after this one")
                position = next
                XCTAssertLessThan(pages, 1_000)
            }
            XCTAssertEqual(seen.count, live.count, "limit \(limit): each once")
            XCTAssertEqual(Set(seen), live, "limit \(limit): every live key, no expired one")
        }
        XCTAssertEqual(machine.keys(from: 0, limit: 0, at: 1_000).keys.count, 1, "a limit under 1 counts as 1")
        XCTAssertEqual(machine.keys(from: ScanOrder.positionEnd - 1, limit: 10, at: 1_000).next, nil)
    }

    func testPagingResumesWhateverWasWrittenInBetween() {
        var machine = KeyValueStateMachine()
        let steady = (0..<100).map { bytes("steady:\($0)") }
        for key in steady { machine.apply(.put(key: key, value: bytes("v"))) }
        var random = SeededRandom(seed: 9)
        var seen: [[UInt8]] = []
        var position: UInt64 = 0
        var written = 0
        while true {
            let page = machine.keys(from: position, limit: 4, at: 0)
            seen += page.keys
            for _ in 0..<3 {
                machine.apply(.put(key: bytes("churn:\(written)"), value: bytes("v")))
                machine.apply(.delete(key: bytes("churn:\(Int(random.next() % UInt64(written + 1)))")))
                written += 1
            }
            guard let next = page.next else { break }
            position = next
        }
        let seenSteady = seen.filter { $0.starts(with: bytes("steady:")) }
        XCTAssertEqual(seenSteady.count, steady.count)
        XCTAssertEqual(Set(seenSteady), Set(steady), "keys there all along are each returned once")
        XCTAssertEqual(seen.count, Set(seen).count, "no key twice")
    }

    func testInitialiserDropsExpiriesOfMissingKeysAndCountsBytes() {
        let machine = KeyValueStateMachine(values: [bytes("a"): bytes("123"), bytes("bb"): []],
                                           expiries: [bytes("a"): 10, bytes("ghost"): 5])
        XCTAssertEqual(machine.expiries, [bytes("a"): 10])
        XCTAssertEqual(machine.dataBytes, 6)
        var copy = machine
        XCTAssertEqual(copy.takeDueExpiries(at: 10, limit: 10), [bytes("a")], "the due order is rebuilt")
    }
}
