import XCTest

/// The register check of `RegisterHistory` finds each kind of anomaly it claims to, and
/// passes histories a linearizable register can produce (overlapping writes, unknown outcomes).
final class RegisterHistoryCheckTests: XCTestCase {
    typealias Operation = RegisterHistory.Operation

    func write(_ value: String, _ sent: UInt64, _ answered: UInt64?, notApplied: Bool = false) -> Operation {
        Operation(key: "k", isWrite: true, value: value, sentNanoseconds: sent, answeredNanoseconds: answered, notApplied: notApplied)
    }

    func read(_ value: String?, _ sent: UInt64, _ answered: UInt64) -> Operation {
        Operation(key: "k", isWrite: false, value: value, sentNanoseconds: sent, answeredNanoseconds: answered)
    }

    func testLinearizableHistoriesPass() {
        let history = [
            read(nil, 0, 5),
            write("a", 10, 20), read("a", 21, 25),
            // b and c overlap: either order is fine, and a read may see either while both run.
            write("b", 30, 50), write("c", 35, 45), read("b", 40, 60), read("c", 61, 62), read("c", 70, 80),
            // d's outcome is unknown: it may show up any time after it was sent, or never.
            write("d", 90, nil), read("c", 95, 96), read("d", 200, 210), read("d", 220, 230),
        ]
        XCTAssertEqual(RegisterHistory(recorded: history).violations(), [])
    }

    func testEachAnomalyIsFound() {
        let cases: [(String, [Operation])] = [
            ("stale read", [write("a", 0, 10), write("b", 20, 30), read("a", 40, 50)]),
            ("lost write", [write("a", 0, 10), read(nil, 20, 30)]),
            ("never written", [read("z", 0, 10)]),
            ("refused write seen", [write("a", 0, 10, notApplied: true), read("a", 20, 30)]),
            ("read from the future", [read("a", 0, 10), write("a", 20, 30)]),
            ("reads going back", [write("a", 0, 10), write("b", 20, 100), read("b", 30, 40), read("a", 50, 60)]),
            ("value then nothing", [write("a", 0, 100), read("a", 10, 20), read(nil, 30, 40)]),
        ]
        for (name, history) in cases {
            XCTAssertFalse(RegisterHistory(recorded: history).violations().isEmpty, "\(name) should be found: \(history)")
        }
    }
}
