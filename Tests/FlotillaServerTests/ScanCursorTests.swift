@testable import FlotillaServer
import XCTest

/// A `SCAN` cursor packs a shard and a position and unpacks to the same; 0 is the start;
/// cursors naming no shard are refused; after a shard's last page comes the next shard, and
/// 0 after the last shard.
final class ScanCursorTests: XCTestCase {
    func testZeroStartsAtTheFirstShard() throws {
        let start = try XCTUnwrap(ScanCursor(0, shardCount: 4))
        XCTAssertEqual(start, ScanCursor(shard: 1, position: 0))
    }

    func testPackingRoundTrips() throws {
        var random = TestRandom(seed: 5)
        for _ in 0..<1_000 {
            let shardCount = UInt64(1 + random.below(100))
            let shard = UInt64(1 + random.below(Int(shardCount)))
            let position = random.next() & ScanCursor.positionMask
            let cursor = ScanCursor(shard: shard, position: position)
            XCTAssertEqual(ScanCursor(cursor.value, shardCount: shardCount), cursor)
        }
        let last = ScanCursor(shard: 65_535, position: ScanCursor.positionMask)
        XCTAssertEqual(last.value, UInt64.max)
        XCTAssertEqual(ScanCursor(UInt64.max, shardCount: 65_535), last)
    }

    func testCursorsNamingNoShardAreRefused() {
        XCTAssertNil(ScanCursor(5, shardCount: 4), "shard 0 with a position")
        XCTAssertNil(ScanCursor(ScanCursor(shard: 5, position: 0).value, shardCount: 4))
        XCTAssertNil(ScanCursor(UInt64.max, shardCount: 4))
        XCTAssertNotNil(ScanCursor(ScanCursor(shard: 4, position: 9).value, shardCount: 4))
    }

    func testFollowing() {
        let cursor = ScanCursor(shard: 2, position: 100)
        XCTAssertEqual(cursor.following(500, shardCount: 3), ScanCursor(shard: 2, position: 500).value)
        XCTAssertEqual(cursor.following(nil, shardCount: 3), ScanCursor(shard: 3, position: 0).value)
        XCTAssertEqual(ScanCursor(shard: 3, position: 7).following(nil, shardCount: 3), 0, "0 after the last shard")
        XCTAssertEqual(ScanCursor(shard: 1, position: 0).following(nil, shardCount: 1), 0)
        XCTAssertNotEqual(ScanCursor(shard: 1, position: 0).following(0, shardCount: 1), 0,
                          "resuming at position 0 of shard 1 is not the end")
    }
}
