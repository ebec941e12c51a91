import FlotillaPlacement
import FlotillaRaft
import XCTest

/// The backoff that keeps leader balance from fighting elections: each transfer of a shard
/// holds it twice as long as the one before, up to the cap; a settled shard starts over.
final class LeaderTransferBackoffTests: XCTestCase {
    func testDelaysDoubleUpToTheCapAndSettlingForgets() {
        var backoff = LeaderTransferBackoff(delayMillisecondsInitial: 1_000, delayMillisecondsMax: 5_000)
        let shard = ShardID(3)
        XCTAssertEqual(backoff.held(nowMilliseconds: 0), [])
        backoff.transferred(shard, nowMilliseconds: 10_000)
        XCTAssertEqual(backoff.held(nowMilliseconds: 10_999), [shard])
        XCTAssertEqual(backoff.held(nowMilliseconds: 11_000), [])
        backoff.transferred(shard, nowMilliseconds: 11_000)
        XCTAssertEqual(backoff.held(nowMilliseconds: 12_999), [shard], "second delay: 2 s")
        XCTAssertEqual(backoff.held(nowMilliseconds: 13_000), [])
        backoff.transferred(shard, nowMilliseconds: 13_000)
        XCTAssertEqual(backoff.held(nowMilliseconds: 16_999), [shard], "third delay: 4 s")
        backoff.transferred(shard, nowMilliseconds: 17_000)
        XCTAssertEqual(backoff.held(nowMilliseconds: 21_999), [shard], "fourth: capped at 5 s")
        XCTAssertEqual(backoff.held(nowMilliseconds: 22_000), [])
        for attempt in 0..<100 { backoff.transferred(shard, nowMilliseconds: UInt64(30_000 + attempt)) }
        XCTAssertEqual(backoff.attempts(of: shard), 104)
        XCTAssertEqual(backoff.held(nowMilliseconds: 30_099 + 5_000), [], "still the cap after many attempts")

        backoff.settled(shard)
        XCTAssertEqual(backoff.attempts(of: shard), 0)
        XCTAssertEqual(backoff.held(nowMilliseconds: 30_100), [])
        backoff.transferred(shard, nowMilliseconds: 40_000)
        XCTAssertEqual(backoff.held(nowMilliseconds: 41_000), [], "back to the first delay")
    }

    func testShardsBackOffIndependently() {
        var backoff = LeaderTransferBackoff(delayMillisecondsInitial: 1_000, delayMillisecondsMax: 60_000)
        backoff.transferred(ShardID(1), nowMilliseconds: 0)
        backoff.transferred(ShardID(1), nowMilliseconds: 1_000)
        backoff.transferred(ShardID(2), nowMilliseconds: 1_000)
        XCTAssertEqual(backoff.held(nowMilliseconds: 2_500), [ShardID(1)])
    }
}
