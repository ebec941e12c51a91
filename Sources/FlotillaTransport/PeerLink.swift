import FlotillaHost
import FlotillaRaft
import NIOCore
import NIOPosix

/// The long-lived connection to one peer, with everything confined to one event loop: a
/// bounded queue while disconnected, reconnection with exponential backoff (the address is
/// resolved again on every attempt), and the forwarded requests awaiting answers.
final class PeerLink: @unchecked Sendable {
    let node: ReplicaID
    let eventLoop: any EventLoop
    private let transport: TCPTransport
    private var address: String
    private var channel: (any Channel)?
    private var connecting = false
    private var reconnectScheduled = false
    private var closed = false
    private var queue: [TransportFrame] = []
    private var queuedBytes = 0
    private var socketBytes = 0
    private var delayMilliseconds: Int
    private var pendingForwards: [UInt64: CheckedContinuation<[UInt8], any Error>] = [:]
    private var nextForwardID: UInt64 = 1

    init(node: ReplicaID, address: String, transport: TCPTransport, eventLoop: any EventLoop) {
        self.node = node
        self.address = address
        self.transport = transport
        self.eventLoop = eventLoop
        delayMilliseconds = transport.configuration.reconnectDelayMillisecondsMin
    }

    func enqueue(_ frame: TransportFrame) {
        eventLoop.execute { self.enqueueOnLoop(frame) }
    }

    private func enqueueOnLoop(_ frame: TransportFrame) {
        guard !closed else { return }
        let size = frame.body.count + TransportFrame.headerBytes
        if queuedBytes + socketBytes + size > transport.configuration.peerQueueBytesMax {
            transport.statistics.withLock { $0.messagesDropped += 1 }
            return
        }
        if let channel, channel.isActive {
            write(frame, to: channel)
        } else {
            queue.append(frame)
            queuedBytes += size
            connectIfNeeded()
        }
    }

    private func write(_ frame: TransportFrame, to channel: any Channel) {
        let size = frame.body.count + TransportFrame.headerBytes
        socketBytes += size
        channel.writeAndFlush(frame).whenComplete { _ in
            self.socketBytes -= size
        }
    }

    private func connectIfNeeded() {
        guard !closed, channel == nil, !connecting, !reconnectScheduled else { return }
        guard let (host, port) = splitHostPort(address) else { return }
        connecting = true
        let transport = self.transport
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(2))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let corrupt: @Sendable () -> Void = { transport.statistics.withLock { $0.framesCorrupt += 1 } }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TransportFrameDecoder(onCorruptFrame: corrupt)))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(TransportFrameEncoder()))
                    try channel.pipeline.syncOperations.addHandler(PeerLinkHandler(link: self))
                }
            }
            .connect(host: host, port: port)
            .hop(to: eventLoop)
            .whenComplete { result in
                self.connecting = false
                switch result {
                case .success(let channel):
                    if self.closed {
                        channel.close(promise: nil)
                        return
                    }
                    self.channel = channel
                    self.delayMilliseconds = transport.configuration.reconnectDelayMillisecondsMin
                    transport.statistics.withLock { $0.connectionsOpened += 1 }
                    self.write(transport.helloFrame(), to: channel)
                    let pending = self.queue
                    self.queue = []
                    self.queuedBytes = 0
                    for frame in pending { self.write(frame, to: channel) }
                case .failure:
                    // Requests queued for this peer never left: say so, so the caller may try
                    // another host.
                    let forwards = self.pendingForwards
                    self.pendingForwards = [:]
                    self.queue.removeAll { $0.kind == .forwardRequest }
                    self.queuedBytes = self.queue.reduce(0) { $0 + $1.body.count + TransportFrame.headerBytes }
                    for continuation in forwards.values {
                        continuation.resume(throwing: TCPTransportError.notSent("node \(self.node) at \(self.address) is unreachable"))
                    }
                    self.scheduleReconnect()
                }
            }
    }

    private func scheduleReconnect() {
        guard !closed, !reconnectScheduled else { return }
        reconnectScheduled = true
        let delay = delayMilliseconds
        delayMilliseconds = min(delayMilliseconds * 2, transport.configuration.reconnectDelayMillisecondsMax)
        eventLoop.scheduleTask(in: .milliseconds(Int64(delay))) {
            self.reconnectScheduled = false
            if !self.queue.isEmpty || !self.pendingForwards.isEmpty { self.connectIfNeeded() }
        }
    }

    /// Called on the event loop when the connection closes.
    func connectionClosed(_ closedChannel: any Channel) {
        guard channel === closedChannel else { return }
        channel = nil
        let forwards = pendingForwards
        pendingForwards = [:]
        for continuation in forwards.values {
            continuation.resume(throwing: TCPTransportError.unreachable("connection to node \(node) closed"))
        }
        if !queue.isEmpty { scheduleReconnect() }
    }

    func setAddress(_ newAddress: String) {
        eventLoop.execute {
            guard newAddress != self.address else { return }
            self.address = newAddress
            self.channel?.close(promise: nil)
        }
    }

    func close() {
        eventLoop.execute {
            self.closed = true
            self.channel?.close(promise: nil)
            self.queue = []
            self.queuedBytes = 0
        }
    }

    func forward(_ payload: [UInt8], timeoutMilliseconds: Int) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            eventLoop.execute {
                let id = self.nextForwardID
                self.nextForwardID += 1
                self.pendingForwards[id] = continuation
                var writer = ByteWriter(capacity: payload.count + 16)
                writer.write(id)
                writer.writeBlob(payload)
                self.enqueueOnLoop(TransportFrame(kind: .forwardRequest, body: writer.bytes))
                self.eventLoop.scheduleTask(in: .milliseconds(Int64(timeoutMilliseconds))) {
                    self.pendingForwards.removeValue(forKey: id)?.resume(throwing: TCPTransportError.timeout)
                }
            }
        }
    }

    /// On the event loop: an answer to a forwarded request arrived.
    func forwardAnswered(_ body: [UInt8]) {
        var reader = ByteReader(body)
        guard let id = try? reader.readUInt64(), let payload = try? reader.readBlob() else { return }
        pendingForwards.removeValue(forKey: id)?.resume(returning: payload)
    }
}

/// Reads what a peer sends back on our outbound connection: answers to forwarded requests.
final class PeerLinkHandler: ChannelInboundHandler {
    typealias InboundIn = TransportFrame
    let link: PeerLink

    init(link: PeerLink) { self.link = link }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.kind == .forwardResponse { link.forwardAnswered(frame.body) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
