import FlotillaHost
import FlotillaRaft
import XCTest

/// Bad input from a peer or a damaged log is refused with an error: never a trap, never room
/// reserved for what a length field only claims.
final class RaftWireFormatRefusalTests: XCTestCase {
    /// Every cut of every message kind throws.
    func testEveryTruncatedMessageThrows() {
        var generator = WireValueGenerator(seed: 21)
        for position in WireValueGenerator.kindNames.indices {
            let message = generator.message(kindPosition: position)
            var writer = ByteWriter()
            RaftWireFormat.encode(message, into: &writer)
            for length in 0..<writer.bytes.count {
                var reader = ByteReader(Array(writer.bytes[..<length]))
                XCTAssertThrowsError(try RaftWireFormat.decodeMessage(from: &reader), "\(message.kind) cut at \(length)")
            }
        }
    }

    func testUnknownTagsThrow() {
        XCTAssertEqual(decodingError { _ = try RaftWireFormat.decodePayload([3]) }, .invalid("entry payload tag 3"))
        XCTAssertEqual(decodingError { _ = try RaftWireFormat.decodePayload([2, 9]) }, .invalid("membership change kind 9"))
        var reader = ByteReader([UInt8](repeating: 0, count: 24) + [11])
        XCTAssertEqual(decodingError { _ = try RaftWireFormat.decodeMessage(from: &reader) }, .invalid("message tag 11"))
        var boolean = ByteReader([UInt8](repeating: 0, count: 24) + [4, 2, 0])
        XCTAssertEqual(decodingError { _ = try RaftWireFormat.decodeMessage(from: &boolean) }, .invalid("boolean byte 2"))
    }

    /// Regression (found reading the decoder for the raft-wire-format fuzz target, whose 4 KB
    /// inputs are too small to show it): an append may claim
    /// as many entries as it has bytes left, and the decoder reserved room for that many
    /// entries (about 50 bytes each) before reading one. A 12 MB body (the transport accepts
    /// 16 MB) reserved over half a gigabyte. An entry takes at least 17 bytes, so such a count
    /// is now refused at once.
    func testAppendCountTheBytesCannotHoldIsRefusedBeforeReserving() {
        let claimed = 12 << 20
        var writer = ByteWriter(capacity: claimed + 64)
        for field: UInt64 in [1, 2, 3] { writer.write(field) }
        writer.write(UInt8(1))
        for field: UInt64 in [0, 0, 0] { writer.write(field) }
        writer.write(UInt32(claimed))
        writer.writeRaw([UInt8](repeating: 0, count: claimed))
        let bytes = writer.bytes
        let error = AddressSpaceLimit.withHeadroom(bytes: 256 << 20) {
            var reader = ByteReader(bytes)
            return decodingError { _ = try RaftWireFormat.decodeMessage(from: &reader) }
        }
        XCTAssertEqual(error, .truncated)
    }

    /// The largest count that fits still decodes: 17-byte empty entries filling the body.
    func testAppendOfMinimalEntriesFillingTheBodyDecodes() throws {
        let entries = (1...1000).map { Entry(index: LogIndex(UInt64($0)), term: Term(1), payload: .empty) }
        let message = Message(from: ReplicaID(1), to: ReplicaID(2), term: Term(1),
                              kind: .append(.init(previousIndex: .zero, previousTerm: .zero, entries: entries, commit: .zero)))
        var writer = ByteWriter()
        RaftWireFormat.encode(message, into: &writer)
        XCTAssertEqual(writer.bytes.count, 24 + 1 + 24 + 4 + 17 * 1000)
        var reader = ByteReader(writer.bytes)
        XCTAssertEqual(try RaftWireFormat.decodeMessage(from: &reader), message)
    }

    /// The error `body` throws, nil when it throws none (a failure to refuse).
    func decodingError(_ body: () throws -> Void) -> DecodingError? {
        do {
            try body()
            return nil
        } catch {
            return error as? DecodingError
        }
    }
}
