import FlotillaHost
import FlotillaRaft
@testable import FlotillaTransport
import NIOCore
import NIOEmbedded
import XCTest

/// Frames written by one host's encoder come out of the other host's decoder unchanged, however
/// the bytes are cut on the way (TCP keeps order, not boundaries), for every frame kind.
final class TransportFrameRoundTripTests: XCTestCase {
    static let kinds: [TransportFrame.Kind] = [.hello, .messages, .snapshotChunk, .snapshotResult, .forwardRequest, .forwardResponse]

    func testEveryKindRoundTripsWhateverTheCuts() throws {
        var random = SeededRandom(seed: 41)
        for round in 0..<40 {
            let frames = (0..<Int(1 + random.next() % 6)).map { position in
                TransportFrame(kind: Self.kinds[(round + position) % Self.kinds.count],
                               body: (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            }
            let bytes = try encoded(frames)
            let chunkBytes = Int(1 + random.next() % 64)
            let decoded = try decode(bytes, chunkBytes: chunkBytes)
            XCTAssertEqual(decoded.frames, frames, "round \(round), chunks of \(chunkBytes)")
            XCTAssertEqual(decoded.corruptFrames, 0)
        }
    }

    func testLargestBodyRoundTrips() throws {
        let frame = TransportFrame(kind: .snapshotChunk, body: [UInt8](repeating: 0xA5, count: TransportFrame.bodyBytesMax))
        XCTAssertEqual(try decode(encoded([frame]), chunkBytes: 1 << 20).frames, [frame])
    }

    /// The layout peers built from other code rely on: big-endian length of what follows,
    /// version, kind, CRC-32C of the body, body.
    func testLayout() throws {
        let bytes = try encoded([TransportFrame(kind: .forwardRequest, body: Array("123456789".utf8))])
        XCTAssertEqual(Array(bytes[..<10]), [0, 0, 0, 15, 1, 5, 0xE3, 0x06, 0x92, 0x83])
        XCTAssertEqual(Array(bytes[10...]), Array("123456789".utf8))
    }

    func testCorruptFrameIsDroppedAndCountedAndTheNextOneStillArrives() throws {
        let first = TransportFrame(kind: .messages, body: [1, 2, 3])
        let second = TransportFrame(kind: .hello, body: [4, 5])
        var bytes = try encoded([first, second])
        bytes[12] ^= 0xFF
        let decoded = try decode(bytes, chunkBytes: 4)
        XCTAssertEqual(decoded.frames, [second])
        XCTAssertEqual(decoded.corruptFrames, 1)
    }

    func testLengthOverTheLimitOrUnderTheHeaderClosesTheConnection() throws {
        for length in [UInt32(TransportFrame.bodyBytesMax + 7), 5, .max] {
            var buffer = ByteBuffer()
            buffer.writeInteger(length)
            XCTAssertThrowsError(try decode(Array(buffer.readableBytesView), chunkBytes: 4), "length \(length)") { error in
                XCTAssertEqual(error as? TransportFrameError, .tooLarge(Int(length)))
            }
        }
    }

    func testOtherVersionClosesTheConnection() throws {
        var bytes = try encoded([TransportFrame(kind: .hello, body: [])])
        bytes[4] = 2
        XCTAssertThrowsError(try decode(bytes, chunkBytes: 100)) { error in
            XCTAssertEqual(error as? TransportFrameError, .unsupportedVersion(2))
        }
    }

    func encoded(_ frames: [TransportFrame]) throws -> [UInt8] {
        let channel = EmbeddedChannel(handler: MessageToByteHandler(TransportFrameEncoder()))
        var bytes: [UInt8] = []
        for frame in frames {
            try channel.writeOutbound(frame)
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
        }
        XCTAssertTrue(try channel.finish().isClean)
        return bytes
    }

    func decode(_ bytes: [UInt8], chunkBytes: Int) throws -> (frames: [TransportFrame], corruptFrames: Int) {
        let corruptFrames = CorruptFrameCount()
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(TransportFrameDecoder(onCorruptFrame: { corruptFrames.value += 1 })))
        var frames: [TransportFrame] = []
        var start = 0
        while start < bytes.count {
            let end = min(start + chunkBytes, bytes.count)
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes[start..<end]))
            while let frame = try channel.readInbound(as: TransportFrame.self) { frames.append(frame) }
            start = end
        }
        _ = try channel.finish()
        return (frames, corruptFrames.value)
    }

    /// An `EmbeddedChannel` runs its handlers on the calling thread, so the count needs no lock.
    final class CorruptFrameCount: @unchecked Sendable {
        var value = 0
    }
}
