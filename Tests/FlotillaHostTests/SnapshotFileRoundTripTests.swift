import FlotillaHost
import FlotillaRaft
import Foundation
import XCTest

/// A snapshot written to disk reads back to the same header and data, through the file reader
/// and through the in-memory decoder a finished transfer uses.
final class SnapshotFileRoundTripTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "snapshot-round-trip-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(atPath: directory)
    }

    func testRandomSnapshotsRoundTrip() throws {
        var generator = WireValueGenerator(seed: 31)
        for round in 0..<30 {
            let header = SnapshotFile.Header(
                clusterID: generator.number(), shard: ShardID(generator.number()), shardCount: generator.number(),
                metadata: generator.snapshotMetadata()
            )
            var values: [[UInt8]: [UInt8]] = [:]
            for _ in 0..<generator.count(upTo: 40) { values[generator.bytes(upTo: 16)] = generator.bytes(upTo: 100) }
            let path = "\(directory)/\(round).snapshot"
            let size = try SnapshotFile.write(header, stateMachine: KeyValueStateMachine(values: values), to: path)

            let read = try SnapshotFile.read(from: path)
            XCTAssertEqual(read.header, header, "round \(round)")
            XCTAssertEqual(read.stateMachine.values, values, "round \(round)")
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(bytes.count, size)
            let decoded = try SnapshotFile.decode(bytes)
            XCTAssertEqual(decoded.header, header)
            XCTAssertEqual(decoded.stateMachine.values, values)
        }
    }
}
