import FlotillaHost
import XCTest

/// `ScanOrder` positions are fixed values of a key's bytes (the same in every version, so
/// cursors stay valid across upgrades), fit in 48 bits, and spread keys evenly.
final class ScanOrderTests: XCTestCase {
    func testPositionsAreFixed() {
        // Pinned: a change here breaks the cursors clients hold across an upgrade.
        let expected = ScanOrder.position(of: Array("user:1".utf8))
        XCTAssertEqual(ScanOrder.position(of: Array("user:1".utf8)), expected)
        XCTAssertNotEqual(ScanOrder.position(of: Array("user:2".utf8)), expected)
        XCTAssertEqual(ScanOrder.position(of: []), Self.reference([]))
        for text in ["a", "user:1", "key:299", String(repeating: "x", count: 1_024)] {
            XCTAssertEqual(ScanOrder.position(of: Array(text.utf8)), Self.reference(Array(text.utf8)), text)
        }
    }

    func testPositionsFitAndSpread() {
        var buckets = [Int](repeating: 0, count: 16)
        for index in 0..<16_000 {
            let position = ScanOrder.position(of: Array("key:\(index)".utf8))
            XCTAssertLessThan(position, ScanOrder.positionEnd)
            buckets[Int(position >> 44)] += 1
        }
        XCTAssertTrue(buckets.allSatisfy { $0 > 700 && $0 < 1_300 }, "\(buckets)")
    }

    /// FNV-1a, then splitmix64's finalizer, top 48 bits: the documented construction.
    static func reference(_ key: [UInt8]) -> UInt64 {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in key { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        return (hash ^ (hash >> 31)) >> 16
    }
}
