import FlotillaHost
import NIOCore

/// The unit on a connection between hosts:
///
///     length u32 | format version u8 | kind u8 | CRC-32C of body u32 | body
///
/// `length` counts everything after itself. A frame whose checksum fails is dropped and
/// counted, never applied; a frame of another format version closes the connection.
struct TransportFrame: Sendable, Equatable {
    static let formatVersion: UInt8 = 1
    static let headerBytes = 4 + 1 + 1 + 4
    /// Above a snapshot chunk plus room for the message that rides on the first one.
    static let bodyBytesMax = 16 << 20

    enum Kind: UInt8, Sendable {
        /// First frame on every connection: cluster identity and the sender's node id.
        case hello = 1
        /// Raft messages of any number of shards.
        case messages = 2
        case snapshotChunk = 3
        /// Receiver to sender: a chunk accepted, a transfer complete (and whether the snapshot
        /// was valid), or a transfer refused.
        case snapshotResult = 4
        /// A client request relayed to the host that can serve it, and its answer.
        case forwardRequest = 5
        case forwardResponse = 6
    }

    var kind: Kind
    var body: [UInt8]

    func write(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(1 + 1 + 4 + body.count))
        buffer.writeInteger(Self.formatVersion)
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(CRC32C.checksum(body))
        buffer.writeBytes(body)
    }
}

/// Why a connection was closed or a frame refused.
enum TransportFrameError: Error, Equatable {
    case tooLarge(Int)
    case unsupportedVersion(UInt8)
}

/// Splits a byte stream into frames; drops (and counts) frames failing their checksum or of an
/// unknown kind.
struct TransportFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = TransportFrame
    let onCorruptFrame: @Sendable () -> Void
    /// Where received bytes are counted; nil in tests of the codec alone.
    var counters: TransportCounters? = nil

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length: UInt32 = buffer.getInteger(at: buffer.readerIndex) else { return .needMoreData }
        guard Int(length) <= TransportFrame.bodyBytesMax + 6, length >= 6 else { throw TransportFrameError.tooLarge(Int(length)) }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let version: UInt8 = buffer.readInteger()!
        let rawKind: UInt8 = buffer.readInteger()!
        let checksum: UInt32 = buffer.readInteger()!
        let body = buffer.readBytes(length: Int(length) - 6)!
        guard version == TransportFrame.formatVersion else { throw TransportFrameError.unsupportedVersion(version) }
        guard CRC32C.checksum(body) == checksum, let kind = TransportFrame.Kind(rawValue: rawKind) else {
            onCorruptFrame()
            return .continue
        }
        let frame = TransportFrame(kind: kind, body: body)
        counters?.countReceived(frame)
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }
}

struct TransportFrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = TransportFrame
    /// Where sent bytes are counted; nil in tests of the codec alone.
    var counters: TransportCounters? = nil
    func encode(data: TransportFrame, out: inout ByteBuffer) throws {
        counters?.countSent(data)
        data.write(into: &out)
    }
}
