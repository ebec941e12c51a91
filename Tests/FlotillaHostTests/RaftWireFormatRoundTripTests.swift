import FlotillaHost
import FlotillaRaft
import XCTest

/// Whatever a host encodes, its peer and its own log store decode to the same value: every
/// message kind, payload, membership and snapshot metadata, with fields from a seeded generator.
final class RaftWireFormatRoundTripTests: XCTestCase {
    func testEveryMessageKindRoundTrips() throws {
        var generator = WireValueGenerator(seed: 11)
        var kindsSeen: Set<String> = []
        for round in 0..<50 {
            for position in WireValueGenerator.kindNames.indices {
                let message = generator.message(kindPosition: position)
                kindsSeen.insert(WireValueGenerator.kindName(message.kind))
                var writer = ByteWriter()
                RaftWireFormat.encode(message, into: &writer)
                var reader = ByteReader(writer.bytes)
                XCTAssertEqual(try RaftWireFormat.decodeMessage(from: &reader), message, "round \(round)")
                XCTAssertTrue(reader.isAtEnd, "round \(round): \(reader.remaining) bytes left after \(message.kind)")
            }
        }
        XCTAssertEqual(kindsSeen, Set(WireValueGenerator.kindNames), "every message kind was generated")
    }

    /// A messages frame carries messages back to back: each decode stops exactly at its end.
    func testMessagesBackToBackDecodeInOrder() throws {
        var generator = WireValueGenerator(seed: 12)
        let messages = (0..<40).map { generator.message(kindPosition: $0 % WireValueGenerator.kindNames.count) }
        var writer = ByteWriter()
        for message in messages { RaftWireFormat.encode(message, into: &writer) }
        var reader = ByteReader(writer.bytes)
        var decoded: [Message] = []
        while !reader.isAtEnd { decoded.append(try RaftWireFormat.decodeMessage(from: &reader)) }
        XCTAssertEqual(decoded, messages)
    }

    func testPayloadsRoundTrip() throws {
        var generator = WireValueGenerator(seed: 13)
        var payloadsSeen: Set<String> = []
        for _ in 0..<300 {
            let payload = generator.payload()
            switch payload {
            case .empty: payloadsSeen.insert("empty")
            case .command: payloadsSeen.insert("command")
            case .membershipChange: payloadsSeen.insert("membershipChange")
            }
            XCTAssertEqual(try RaftWireFormat.decodePayload(RaftWireFormat.encode(payload)), payload)
        }
        XCTAssertEqual(payloadsSeen, ["empty", "command", "membershipChange"])
    }

    func testMembershipsRoundTrip() throws {
        var generator = WireValueGenerator(seed: 14)
        for _ in 0..<200 {
            let membership = generator.membership()
            XCTAssertEqual(try RaftWireFormat.decodeMembership(RaftWireFormat.encode(membership)), membership)
        }
    }

    func testSnapshotMetadataRoundTrips() throws {
        var generator = WireValueGenerator(seed: 15)
        for _ in 0..<200 {
            let metadata = generator.snapshotMetadata()
            var writer = ByteWriter()
            RaftWireFormat.encode(metadata, into: &writer)
            var reader = ByteReader(writer.bytes)
            XCTAssertEqual(try RaftWireFormat.decodeSnapshotMetadata(from: &reader), metadata)
            XCTAssertTrue(reader.isAtEnd)
        }
    }
}
