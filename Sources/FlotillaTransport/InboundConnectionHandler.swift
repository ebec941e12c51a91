import Dispatch
import FlotillaEventLoop
import FlotillaHost
import FlotillaRaft
import NIOCore

/// One connection a peer opened to us: a hello first (wrong cluster: closed), then Raft
/// messages, snapshot chunks, or requests forwarded for us to serve.
final class InboundConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = TransportFrame
    typealias OutboundOut = TransportFrame

    let transport: TCPTransport
    let mailbox: EventLoopMailbox
    private var greeted = false
    private var flushScheduled = false

    init(transport: TCPTransport, mailbox: EventLoopMailbox) {
        self.transport = transport
        self.mailbox = mailbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard greeted else {
            if frame.kind == .hello && transport.accept(hello: frame.body) {
                greeted = true
            } else {
                context.close(promise: nil)
            }
            return
        }
        switch frame.kind {
        case .messages:
            transport.deliver(messagesFrame: frame.body)
        case .snapshotChunk:
            receiveChunk(frame.body, context: context)
        case .forwardRequest:
            var reader = ByteReader(frame.body)
            guard let id = try? reader.readUInt64(), let payload = try? reader.readBlob() else { return }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let mailbox = self.mailbox
            transport.handleForward(payload) { answer in
                mailbox.post {
                    let (handler, context) = bound.value
                    handler.answer(id, answer, context: context)
                }
            }
        case .hello, .snapshotResult, .forwardResponse:
            break
        }
    }

    /// Writes an answer to a forwarded request; the socket is flushed once per batch.
    private func answer(_ id: UInt64, _ answer: [UInt8], context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var writer = ByteWriter(capacity: answer.count + 16)
        writer.write(id)
        writer.writeBlob(answer)
        context.write(wrapOutboundOut(TransportFrame(kind: .forwardResponse, body: writer.bytes)), promise: nil)
        guard !flushScheduled else { return }
        flushScheduled = true
        mailbox.atEndOfBatch { [self] in
            flushScheduled = false
            context.flush()
        }
    }

    private func receiveChunk(_ body: [UInt8], context: ChannelHandlerContext) {
        var reader = ByteReader(body)
        guard let chunk = try? SnapshotChunk(decoding: &reader) else {
            context.close(promise: nil)
            return
        }
        switch transport.assembler.receive(chunk) {
        case .accepted:
            context.writeAndFlush(wrapOutboundOut(Self.result(chunk, status: 0)), promise: nil)
        case .rejected:
            context.writeAndFlush(wrapOutboundOut(Self.result(chunk, status: 2)), promise: nil)
        case .complete(let message, let file):
            let channel = context.channel
            let transport = self.transport
            let shardMessage = ShardMessage(shard: chunk.shard, message: message)
            // Validating a whole snapshot reads the file: off the event loop.
            DispatchQueue.global().async {
                let accepted = transport.deliverSnapshot(shardMessage, file: file)
                channel.writeAndFlush(Self.result(chunk, status: accepted ? 1 : 2), promise: nil)
            }
        }
    }

    static func result(_ chunk: SnapshotChunk, status: UInt8) -> TransportFrame {
        var writer = ByteWriter(capacity: 16)
        writer.write(chunk.transferID)
        writer.write(chunk.sequence)
        writer.write(status)
        return TransportFrame(kind: .snapshotResult, body: writer.bytes)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
