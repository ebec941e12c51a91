@testable import FlotillaHostSimulation
import XCTest

/// The register rule of the host simulator's linearizability check, on histories built by hand:
/// each broken history is caught, and the legal ones around it pass.
final class RegisterHistoryTests: XCTestCase {
    let register = RegisterHistory.Register(shard: 1, key: Array("k".utf8))

    func value(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Two acknowledged puts, a then b, b over before the read began.
    func history(readReturning value: [UInt8]?, readStart: UInt64 = 5) -> RegisterHistory {
        var history = RegisterHistory()
        let first = history.beginWrite(register, value: self.value("a"), start: 1, label: "put a")
        history.finishWrite(register, position: first, outcome: .acknowledged, end: 2)
        let second = history.beginWrite(register, value: self.value("b"), start: 3, label: "put b")
        history.finishWrite(register, position: second, outcome: .acknowledged, end: 4)
        history.addRead(register, value: value, start: readStart, end: readStart + 1, label: "read")
        return history
    }

    func testTheLatestValueIsLinearizable() {
        XCTAssertNil(history(readReturning: value("b")).violation())
    }

    func testAStaleValueIsCaught() {
        XCTAssertNotNil(history(readReturning: value("a")).violation())
    }

    func testAStaleValueIsLegalWhileTheNewerWriteIsInFlight() {
        // The read began before b was acknowledged (at 4): a is still a legal answer.
        XCTAssertNil(history(readReturning: value("a"), readStart: 3).violation())
    }

    func testAValueNeverWrittenIsCaught() {
        XCTAssertNotNil(history(readReturning: value("z")).violation())
    }

    func testAbsenceAfterAnAcknowledgedWriteIsCaught() {
        XCTAssertNotNil(history(readReturning: nil).violation())
    }

    func testAbsenceAfterADeleteIsLinearizable() {
        var history = history(readReturning: value("b"))
        let delete = history.beginWrite(register, value: nil, start: 7, label: "delete")
        history.finishWrite(register, position: delete, outcome: .acknowledged, end: 8)
        history.addRead(register, value: nil, start: 9, end: 10, label: "read after delete")
        XCTAssertNil(history.violation())
    }

    func testAWriteAnsweredNotAppliedThatWasAppliedIsCaught() {
        var history = RegisterHistory()
        let write = history.beginWrite(register, value: value("a"), start: 1, label: "put a")
        history.finishWrite(register, position: write, outcome: .notApplied, end: 2)
        history.addRead(register, value: value("a"), start: 3, end: 4, label: "read")
        XCTAssertNotNil(history.violation())
    }

    func testAWriteOfUnknownOutcomeMayTakeEffectLate() {
        var history = RegisterHistory()
        let first = history.beginWrite(register, value: value("a"), start: 1, label: "put a (timed out)")
        let second = history.beginWrite(register, value: value("b"), start: 2, label: "put b")
        history.finishWrite(register, position: second, outcome: .acknowledged, end: 3)
        history.addRead(register, value: value("a"), start: 4, end: 5, label: "read")
        _ = first
        XCTAssertNil(history.violation())
    }

    func testAReadMayNotGoBackBehindAnEarlierRead() {
        var history = RegisterHistory()
        let first = history.beginWrite(register, value: value("a"), start: 1, label: "put a")
        history.finishWrite(register, position: first, outcome: .acknowledged, end: 2)
        // b's outcome is unknown, but a read saw it: it took effect before that read ended.
        _ = history.beginWrite(register, value: value("b"), start: 3, label: "put b (timed out)")
        history.addRead(register, value: value("b"), start: 4, end: 5, label: "first read")
        history.addRead(register, value: value("a"), start: 6, end: 7, label: "second read")
        XCTAssertNotNil(history.violation())
    }
}
