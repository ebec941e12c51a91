import FlotillaHost
@testable import FlotillaTransport
import NIOCore
import NIOEmbedded

/// Fuzzes the frame decoder between hosts inside a real channel pipeline (an `EmbeddedChannel`
/// with the decoder behind NIO's `ByteToMessageHandler`, as on a connection).
///
/// Input: one byte choosing the chunk size the stream arrives in, then the stream. Properties:
/// the frames and the error do not depend on the chunk size; every frame passed on has a body
/// within the limit and a matching checksum, and written again decodes to itself.
enum TransportFrameFuzzTarget {
    struct Outcome: Equatable {
        var frames: [TransportFrame] = []
        var error: TransportFrameError?
        var failedOtherwise = false
    }

    static func run(_ input: [UInt8]) {
        guard let first = input.first else { return }
        let stream = Array(input.dropFirst())
        let chunkBytes = Int(first) + 1
        let whole = decode(stream, chunkBytes: max(stream.count, 1))
        let chunked = decode(stream, chunkBytes: chunkBytes)
        fuzzCheck(whole == chunked, "decoding in chunks of \(chunkBytes) differs from decoding at once")
        for frame in whole.frames {
            fuzzCheck(frame.body.count <= TransportFrame.bodyBytesMax, "a body of \(frame.body.count) bytes passed")
            var buffer = ByteBuffer()
            frame.write(into: &buffer)
            let again = decode(Array(buffer.readableBytesView), chunkBytes: buffer.readableBytes)
            fuzzCheck(again == Outcome(frames: [frame]), "frame round trip: \(frame.kind)")
        }
    }

    static func decode(_ stream: [UInt8], chunkBytes: Int) -> Outcome {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(TransportFrameDecoder(onCorruptFrame: {})))
        var outcome = Outcome()
        var start = 0
        while start < stream.count {
            let end = min(start + chunkBytes, stream.count)
            do {
                try channel.writeInbound(channel.allocator.buffer(bytes: stream[start..<end]))
            } catch let error as TransportFrameError {
                outcome.error = error
            } catch {
                outcome.failedOtherwise = true
            }
            while let frame = try? channel.readInbound(as: TransportFrame.self) { outcome.frames.append(frame) }
            if outcome.error != nil || outcome.failedOtherwise { break }
            start = end
        }
        _ = try? channel.finish()
        return outcome
    }

    static var seeds: [(name: String, bytes: [UInt8])] {
        func encoded(_ frames: [TransportFrame]) -> [UInt8] {
            var buffer = ByteBuffer()
            for frame in frames { frame.write(into: &buffer) }
            return Array(buffer.readableBytesView)
        }
        var hello = ByteWriter()
        hello.write(UInt64(0x1234_5678))
        hello.write(UInt64(2))
        hello.write(UInt64(4))
        hello.writeString("127.0.0.1:7002")
        let helloFrame = TransportFrame(kind: .hello, body: hello.bytes)
        let messagesFrame = TransportFrame(kind: .messages, body: [0, 0, 0, 0])
        let forwardFrame = TransportFrame(kind: .forwardRequest, body: [1, 7])
        var corrupt = encoded([messagesFrame])
        corrupt[corrupt.count - 1] ^= 0xFF
        var otherVersion = encoded([helloFrame])
        otherVersion[4] = 2
        var unknownKind = encoded([forwardFrame])
        unknownKind[5] = 99
        return [
            (name: "hello", bytes: [0xFF] + encoded([helloFrame])),
            (name: "three-frames-small-chunks", bytes: [0x02] + encoded([helloFrame, messagesFrame, forwardFrame])),
            (name: "empty-body", bytes: [0x00] + encoded([TransportFrame(kind: .snapshotResult, body: [])])),
            (name: "corrupt-checksum", bytes: [0x07] + corrupt + encoded([forwardFrame])),
            (name: "other-version", bytes: [0xFF] + otherVersion),
            (name: "unknown-kind", bytes: [0x03] + unknownKind),
            (name: "length-over-limit", bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 1, 1]),
            (name: "length-under-header", bytes: [0xFF, 0, 0, 0, 5, 1, 1, 0, 0, 0]),
        ]
    }
}


@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argumentCount: UnsafeMutablePointer<CInt>, _ arguments: UnsafeMutableRawPointer) -> CInt {
    FuzzSeedWriter.writeIfAsked(TransportFrameFuzzTarget.seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    TransportFrameFuzzTarget.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
