import FlotillaHost
import FlotillaRaft
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Streams one snapshot file to a peer on a connection of its own, a few chunks in flight at a
/// time (flow control by acknowledgement), and reports the outcome exactly once.
final class SnapshotSender: @unchecked Sendable {
    let transport: TCPTransport
    let address: String
    let message: ShardMessage
    let file: String
    let transferID: UInt64
    let eventLoop: any EventLoop
    let completion: @Sendable (Bool) -> Void
    private var handle: UnsafeMutablePointer<FILE>?
    private var channel: (any Channel)?
    private var sequence: UInt32 = 0
    private var inFlight = 0
    private var allSent = false
    private var finished = false

    init(transport: TCPTransport, address: String, message: ShardMessage, file: String, transferID: UInt64,
         eventLoop: any EventLoop, completion: @escaping @Sendable (Bool) -> Void) {
        self.transport = transport
        self.address = address
        self.message = message
        self.file = file
        self.transferID = transferID
        self.eventLoop = eventLoop
        self.completion = completion
    }

    func start() {
        guard let (host, port) = splitHostPort(address), let handle = fopen(file, "rb") else {
            completion(false)
            return
        }
        self.handle = handle
        let counters = transport.counters
        let transport = self.transport
        let address = self.address
        let node = message.message.to
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try transport.addClientTLS(to: channel, address: address, node: node)
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TransportFrameDecoder(onCorruptFrame: {}, counters: counters)))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(TransportFrameEncoder(counters: counters)))
                    try channel.pipeline.syncOperations.addHandler(SnapshotSenderHandler(sender: self))
                }
            }
            .connect(host: host, port: port)
            .hop(to: eventLoop)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    self.channel = channel
                    channel.writeAndFlush(self.transport.helloFrame(), promise: nil)
                    self.sendMore()
                case .failure:
                    self.finish(false)
                }
            }
        eventLoop.scheduleTask(in: .seconds(300)) { self.finish(false) }
    }

    /// A write can close the channel at once (the peer went away: `EPIPE`), and its
    /// `channelInactive` finishes the transfer and closes the file before `writeAndFlush`
    /// returns: the loop therefore checks `finished` and takes the file handle anew each time
    /// round (reading a closed `FILE` crashed the leader when an observer was killed mid-transfer).
    private func sendMore() {
        guard let channel else { return }
        let chunkBytes = transport.configuration.snapshotChunkBytes
        while !finished, !allSent, inFlight < transport.configuration.snapshotChunksInFlightMax, let handle {
            var buffer = [UInt8](repeating: 0, count: chunkBytes)
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
            let isLast = count < chunkBytes
            let chunk = SnapshotChunk(shard: message.shard, from: message.message.from, to: message.message.to,
                                      transferID: transferID, sequence: sequence, isLast: isLast,
                                      message: sequence == 0 ? message.message : nil, data: Array(buffer[0..<count]))
            sequence += 1
            inFlight += 1
            allSent = isLast
            channel.writeAndFlush(TransportFrame(kind: .snapshotChunk, body: chunk.encoded()), promise: nil)
        }
    }

    /// On the event loop: the receiver answered.
    func resultArrived(_ body: [UInt8]) {
        var reader = ByteReader(body)
        guard (try? reader.readUInt64()) == transferID, (try? reader.readUInt32()) != nil,
              let status = try? reader.readByte() else { return }
        switch status {
        case 0:
            inFlight -= 1
            sendMore()
        case 1:
            finish(true)
        default:
            finish(false)
        }
    }

    func finish(_ succeeded: Bool) {
        guard !finished else { return }
        finished = true
        if let handle { fclose(handle) }
        handle = nil
        channel?.close(promise: nil)
        completion(succeeded)
    }
}

final class SnapshotSenderHandler: ChannelInboundHandler {
    typealias InboundIn = TransportFrame
    let sender: SnapshotSender

    init(sender: SnapshotSender) { self.sender = sender }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.kind == .snapshotResult { sender.resultArrived(frame.body) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        sender.finish(false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
