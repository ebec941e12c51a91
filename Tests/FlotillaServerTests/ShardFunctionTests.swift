import FlotillaHost
import FlotillaServer
import XCTest

/// SPEC's shard function: `1 + (fnv1a64(key) mod K)`, FNV-1a 64-bit.
final class ShardFunctionTests: XCTestCase {
    func testKnownFNV1aVectors() {
        XCTAssertEqual(fnv1a64([]), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(fnv1a64(Array("a".utf8)), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(fnv1a64(Array("b".utf8)), 0xaf63_df4c_8601_f1a5)
        XCTAssertEqual(fnv1a64(Array("foobar".utf8)), 0x8594_4171_f739_67e8)
    }

    func testShardOfFollowsTheSpec() {
        XCTAssertEqual(shardOf(key: Array("a".utf8), shardCount: 16), 1 + 0xaf63_dc4c_8601_ec8c % 16)
        XCTAssertEqual(shardOf(key: Array("foobar".utf8), shardCount: 7), 1 + 0x8594_4171_f739_67e8 % 7)
        XCTAssertEqual(shardOf(key: Array("anything".utf8), shardCount: 1), 1)
        for number in 0..<1_000 {
            XCTAssertTrue((1...16).contains(shardOf(key: Array("key-\(number)".utf8), shardCount: 16)))
        }
    }
}
