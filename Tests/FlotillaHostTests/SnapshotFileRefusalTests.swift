import FlotillaHost
import FlotillaRaft
import Foundation
import XCTest

/// A damaged or hostile snapshot is refused with an error before any state changes: never a
/// trap, never room reserved for what a count field only claims.
final class SnapshotFileRefusalTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "snapshot-refusal-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(atPath: directory)
    }

    /// Regression (found by the snapshot-file fuzz target: libFuzzer "out-of-memory
    /// (malloc(541065280))" on a valid file whose record count was raised to 2^63 and its
    /// checksum fixed): the reader reserved room for up to 2^24 records from the count alone,
    /// over half a gigabyte, before reading one. It now reserves no more than the bytes left
    /// can hold (8 bytes a record at least), and the missing records make the file corrupt.
    func testHugeRecordCountIsRefusedWithoutReservingForIt() throws {
        var bytes = try encoded(values: [:])
        // The record count: before the expiry count (8), the end marker (8) and the checksum (4).
        let countOffset = bytes.count - 4 - 8 - 8 - 8
        bytes.replaceSubrange(countOffset..<(countOffset + 8), with: [0, 0, 0, 0, 0, 0, 0, 0x80])
        resealChecksum(&bytes)
        let refusal = AddressSpaceLimit.withHeadroom(bytes: 256 << 20) { () -> SnapshotFileError? in
            do {
                _ = try SnapshotFile.decode(bytes, source: "hostile")
                return nil
            } catch {
                return error as? SnapshotFileError
            }
        }
        guard case .corrupt(let detail)? = refusal else { return XCTFail("expected corrupt, got \(String(describing: refusal))") }
        XCTAssertTrue(detail.hasPrefix("hostile is malformed"), detail)
    }

    /// Every cut of a valid file, and every single flipped byte, is refused.
    func testEveryTruncationAndFlippedByteIsRefused() throws {
        let bytes = try encoded(values: [Array("key".utf8): Array("value".utf8), [0]: []])
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try SnapshotFile.decode(Array(bytes[..<length])), "cut at \(length)")
        }
        for position in bytes.indices {
            var flipped = bytes
            flipped[position] ^= 0x01
            XCTAssertThrowsError(try SnapshotFile.decode(flipped), "byte \(position) flipped")
        }
    }

    func testOtherFormatVersionIsNamed() throws {
        var bytes = try encoded(values: [:])
        bytes[8] = 3
        XCTAssertThrowsError(try SnapshotFile.decode(bytes, source: "newer")) { error in
            guard case .unsupportedVersion(let detail) = error as? SnapshotFileError else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("version 3"), detail)
        }
    }

    func encoded(values: [[UInt8]: [UInt8]]) throws -> [UInt8] {
        let header = SnapshotFile.Header(
            clusterID: 77, shard: ShardID(1), shardCount: 2,
            metadata: SnapshotMetadata(index: LogIndex(5), term: Term(1), membership: Membership(voters: [ReplicaID(1): "127.0.0.1:7001"]))
        )
        let path = directory + "/file.snapshot"
        try SnapshotFile.write(header, stateMachine: KeyValueStateMachine(values: values), to: path)
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Sets the trailing CRC-32C to match the bytes before it, as a hostile writer would.
    func resealChecksum(_ bytes: inout [UInt8]) {
        let body = bytes.count - 4
        let checksum = CRC32C.checksum(Array(bytes[..<body]))
        bytes.replaceSubrange(body..., with: (0..<4).map { UInt8(truncatingIfNeeded: checksum >> (8 * $0)) })
    }
}
