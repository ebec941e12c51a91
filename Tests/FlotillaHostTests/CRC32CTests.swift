import FlotillaHost
import XCTest

/// CRC-32C against published answers: the standard check value and the RFC 3720 (iSCSI)
/// test vectors. A table or polynomial mistake would still round-trip, so only known answers
/// catch it, and peers built from different code must agree on them.
final class CRC32CTests: XCTestCase {
    func testCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
    }

    func testRFC3720Vectors() {
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0x00, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }), 0x113F_DB5C)
    }

    func testEmptyInputIsZero() {
        XCTAssertEqual(CRC32C.checksum([]), 0)
    }

    /// Snapshot files are checksummed piece by piece as they are written.
    func testPiecewiseUpdatesEqualOneShot() {
        let bytes = Array("The quick brown fox jumps over the lazy dog".utf8)
        for cut in 0...bytes.count {
            var crc = CRC32C()
            crc.update(Array(bytes[..<cut]))
            Array(bytes[cut...]).withUnsafeBytes { crc.update($0) }
            XCTAssertEqual(crc.checksum, CRC32C.checksum(bytes), "cut at \(cut)")
        }
        XCTAssertEqual(CRC32C.checksum(bytes), 0x2262_0404)
    }
}
