import XCTest

@testable import FlotillaHost

/// The bookkeeping of refused writes: resubmitted oldest first, one at a time, backing off.
final class StoreRefusalTests: XCTestCase {
    func testRefusedWritesGoBackInSubmissionOrderOneAtATime() {
        var refusal = StoreRefusal(reason: "disk full", now: 1_000)
        XCTAssertEqual(refusal.retryAtMilliseconds, 1_000 + StoreRefusal.retryDelayMillisecondsInitial)
        // Outcomes may come back out of order (a later write refused while an earlier one
        // waits for its sync): the queue keeps submission order.
        refusal.wait(7)
        refusal.wait(5)
        refusal.wait(9)
        XCTAssertEqual(refusal.waitingWrites, [5, 7, 9])
        XCTAssertTrue(refusal.isWaiting(before: 6))
        XCTAssertFalse(refusal.isWaiting(before: 5))

        XCTAssertEqual(refusal.takeNext(), 5)
        XCTAssertNil(refusal.takeNext(), "one resubmitted write at a time")
        XCTAssertFalse(refusal.isDrained)

        // Refused again: back at the head, and the next try waits twice as long.
        refusal.refusedAgain(5, reason: "still full", now: 2_000)
        XCTAssertEqual(refusal.waitingWrites, [5, 7, 9])
        XCTAssertNil(refusal.resubmittedWrite)
        XCTAssertEqual(refusal.reason, "still full")
        XCTAssertEqual(refusal.retryAtMilliseconds, 2_000 + 2 * StoreRefusal.retryDelayMillisecondsInitial)

        for _ in 0..<20 { refusal.refusedAgain(5, reason: "full", now: 3_000) }
        XCTAssertEqual(refusal.retryDelayMilliseconds, StoreRefusal.retryDelayMillisecondsMax, "the delay is capped")
        XCTAssertEqual(refusal.waitingWrites, [5, 7, 9], "a write refused again is not queued twice")

        var drained: [UInt64] = []
        while let next = refusal.takeNext() {
            drained.append(next)
            refusal.resubmittedWrite = nil
        }
        XCTAssertEqual(drained, [5, 7, 9])
        XCTAssertTrue(refusal.isDrained)
    }

    func testAbandonForgetsTheWaitingWrites() {
        var refusal = StoreRefusal(reason: "map full", now: 0)
        refusal.wait(1)
        refusal.wait(2)
        XCTAssertEqual(refusal.abandon(), [1, 2])
        XCTAssertTrue(refusal.isDrained)
    }
}
