import FlotillaHost
import FlotillaRaft
import Foundation
import XCTest

/// Snapshot format 2 carries expiries through a write and a read (due order included), and a
/// version 1 file (no expiry section), built by hand from a version 2 one, still reads.
final class SnapshotFileExpiryTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "snapshot-expiry-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(atPath: directory)
    }

    let header = SnapshotFile.Header(
        clusterID: 9, shard: ShardID(2), shardCount: 3,
        metadata: SnapshotMetadata(index: LogIndex(40), term: Term(3), membership: Membership(voters: [ReplicaID(1): "127.0.0.1:7001"]))
    )

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func testExpiriesRoundTrip() throws {
        var random = SeededRandom(seed: 3)
        for round in 0..<20 {
            var machine = KeyValueStateMachine()
            for index in 0..<Int(random.next() % 50) {
                let key = bytes("k\(index)")
                if random.next() % 2 == 0 {
                    machine.apply(.set(key: key, value: bytes("v\(index)"), condition: .always,
                                       expiry: .at(unixMilliseconds: [0, 1, UInt64.max, random.next()][Int(random.next() % 4)]), returnsPrevious: false))
                } else {
                    machine.apply(.put(key: key, value: bytes("v\(index)")))
                }
            }
            let path = "\(directory)/\(round).snapshot"
            try SnapshotFile.write(header, stateMachine: machine, to: path)
            var read = try SnapshotFile.read(from: path)
            XCTAssertEqual(read.header, header)
            XCTAssertEqual(read.stateMachine.values, machine.values, "round \(round)")
            XCTAssertEqual(read.stateMachine.expiries, machine.expiries, "round \(round)")
            XCTAssertEqual(read.stateMachine.dataBytes, machine.dataBytes)
            let due = read.stateMachine.takeDueExpiries(at: UInt64.max, limit: 1_000)
            XCTAssertEqual(Set(due), Set(machine.expiries.keys), "round \(round): the due order is rebuilt")
            let decoded = try SnapshotFile.decode(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
            XCTAssertEqual(decoded.stateMachine.expiries, machine.expiries)
        }
    }

    func testVersionOneFileStillReads() throws {
        let values = [bytes("a"): bytes("1"), bytes("b"): [0, 0xFF], bytes("c"): []]
        let path = directory + "/v2.snapshot"
        try SnapshotFile.write(header, stateMachine: KeyValueStateMachine(values: values), to: path)
        var file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        // Version 2 ends: expiry count (u64, here 0) | "SNAPEND!" | CRC. Version 1 lacks the count.
        let endMagic = bytes("SNAPEND!")
        let countStart = file.count - 4 - endMagic.count - 8
        XCTAssertEqual(Array(file[countStart..<(countStart + 8)]), [UInt8](repeating: 0, count: 8))
        XCTAssertEqual(Array(file[(countStart + 8)..<(file.count - 4)]), endMagic)
        file.removeSubrange(countStart..<(countStart + 8))
        file.replaceSubrange(8..<12, with: [1, 0, 0, 0])
        let body = file.count - 4
        let checksum = CRC32C.checksum(Array(file[..<body]))
        file.replaceSubrange(body..., with: (0..<4).map { UInt8(truncatingIfNeeded: checksum >> (8 * $0)) })
        let read = try SnapshotFile.decode(file)
        XCTAssertEqual(read.header, header)
        XCTAssertEqual(read.stateMachine.values, values)
        XCTAssertEqual(read.stateMachine.expiries, [:])
        let v1Path = directory + "/v1.snapshot"
        try Data(file).write(to: URL(fileURLWithPath: v1Path))
        XCTAssertEqual(try SnapshotFile.read(from: v1Path).stateMachine.values, values)
    }

    func testExpiryForAMissingKeyIsRefused() throws {
        let path = directory + "/one.snapshot"
        var machine = KeyValueStateMachine()
        machine.apply(.set(key: bytes("a"), value: bytes("1"), condition: .always, expiry: .at(unixMilliseconds: 5), returnsPrevious: false))
        try SnapshotFile.write(header, stateMachine: machine, to: path)
        var file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        // The file ends: key "a" | expiry u64 | "SNAPEND!" | CRC. Make the expiry name "b".
        let index = file.count - 4 - 8 - 8 - 1
        XCTAssertEqual(file[index], UInt8(ascii: "a"))
        file[index] = UInt8(ascii: "b")
        let body = file.count - 4
        let checksum = CRC32C.checksum(Array(file[..<body]))
        file.replaceSubrange(body..., with: (0..<4).map { UInt8(truncatingIfNeeded: checksum >> (8 * $0)) })
        XCTAssertThrowsError(try SnapshotFile.decode(file)) { error in
            XCTAssertEqual(error as? SnapshotFileError, .corrupt("snapshot has an expiry for a missing key"))
        }
    }
}
