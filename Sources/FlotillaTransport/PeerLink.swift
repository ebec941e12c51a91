import FlotillaEventLoop
import FlotillaHost
import FlotillaRaft
import NIOCore
import NIOPosix

/// One long-lived connection to one peer, with everything confined to one event loop: a
/// bounded queue while disconnected, reconnection with exponential backoff (the address is
/// resolved again on every attempt), and the forwarded requests awaiting answers.
///
/// Hand-offs are batched. Frames from other threads (a step worker's messages, a request
/// relayed from another loop) go through the loop's `EventLoopMailbox`, which wakes the loop
/// once for everything posted until it runs; frames are written without a flush and the
/// socket is flushed once per batch. A request relayed from this link's own loop is written directly. The
/// deadlines of forwarded requests are checked by one sweep every `sweepIntervalMilliseconds`
/// while any is waiting, not by a timer per request, so an answered request leaves nothing
/// behind.
final class PeerLink: @unchecked Sendable {
    let node: ReplicaID
    let eventLoop: any EventLoop
    /// The link Raft messages use (the first loop's); the others carry relayed requests only,
    /// and their connections are logged at debug.
    let carriesRaft: Bool
    private let mailbox: EventLoopMailbox
    private let transport: TCPTransport
    private var address: String
    private var channel: (any Channel)?
    private var connecting = false
    private var reconnectScheduled = false
    /// Whether the current connection got past its handshake (with TLS) or its connect.
    private var channelEstablished = false
    private var closed = false
    /// The last attempt to connect failed (the peer is down or cut off) and no connection has
    /// been made since: a forwarded request is then refused at once (`notSent`) while the
    /// link waits out its backoff, instead of waiting there for its whole timeout, so the
    /// router tries the next host. A host stopped for good after a drain would otherwise hold
    /// up every relay that lists it first for as long as the backoff.
    private var lastConnectFailed = false
    private var queue: [TransportFrame] = []
    private var queuedBytes = 0
    private var socketBytes = 0
    private var delayMilliseconds: Int
    private var pendingForwards: [UInt64: PendingForward] = [:]
    private var nextForwardID: UInt64 = 1
    private var sweepScheduled = false
    private var flushScheduled = false

    static let sweepIntervalMilliseconds: Int64 = 100

    struct PendingForward {
        var deadline: NIODeadline
        var completion: @Sendable (Result<[UInt8], any Error>) -> Void
    }

    init(node: ReplicaID, address: String, transport: TCPTransport, mailbox: EventLoopMailbox, carriesRaft: Bool) {
        self.node = node
        self.carriesRaft = carriesRaft
        self.address = address
        self.transport = transport
        self.mailbox = mailbox
        eventLoop = mailbox.eventLoop
        delayMilliseconds = transport.configuration.reconnectDelayMillisecondsMin
    }

    func enqueue(_ frame: TransportFrame) {
        if eventLoop.inEventLoop {
            enqueueOnLoop(frame)
        } else {
            mailbox.post { self.enqueueOnLoop(frame) }
        }
    }

    /// Returns false when the frame was dropped (the peer's queue is full, or the link closed).
    @discardableResult
    private func enqueueOnLoop(_ frame: TransportFrame) -> Bool {
        guard !closed else { return false }
        let size = frame.body.count + TransportFrame.headerBytes
        if queuedBytes + socketBytes + size > transport.configuration.peerQueueBytesMax {
            transport.statistics.withLock { $0.messagesDropped += 1 }
            return false
        }
        if let channel, channel.isActive {
            write(frame, to: channel)
        } else {
            queue.append(frame)
            queuedBytes += size
            connectIfNeeded()
        }
        return true
    }

    private func write(_ frame: TransportFrame, to channel: any Channel) {
        let size = frame.body.count + TransportFrame.headerBytes
        socketBytes += size
        channel.write(frame).whenComplete { _ in
            self.socketBytes -= size
        }
        guard !flushScheduled else { return }
        flushScheduled = true
        // One flush (one syscall) for every frame written in this batch or loop iteration.
        mailbox.atEndOfBatch {
            self.flushScheduled = false
            self.channel?.flush()
        }
    }

    private func connectIfNeeded() {
        guard !closed, channel == nil, !connecting, !reconnectScheduled else { return }
        guard let (host, port) = splitHostPort(address) else { return }
        connecting = true
        let transport = self.transport
        let address = self.address
        let node = self.node
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(2))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let corrupt: @Sendable () -> Void = { transport.statistics.withLock { $0.framesCorrupt += 1 } }
                    // With TLS the backoff resets only once the handshake succeeded, so a peer
                    // that refuses us is retried ever more slowly, not every 50 ms.
                    try transport.addClientTLS(to: channel, address: address, node: node) {
                        self.established(channel)
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TransportFrameDecoder(onCorruptFrame: corrupt, counters: transport.counters)))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(TransportFrameEncoder(counters: transport.counters)))
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
                    // With TLS the connection counts as made once the handshake succeeded.
                    if transport.configuration.tls == nil { self.established(channel) }
                    self.write(transport.helloFrame(), to: channel)
                    let pending = self.queue
                    self.queue = []
                    self.queuedBytes = 0
                    for frame in pending { self.write(frame, to: channel) }
                case .failure:
                    self.lastConnectFailed = true
                    // Requests queued for this peer never left: say so, so the caller may try
                    // another host.
                    let forwards = self.pendingForwards
                    self.pendingForwards = [:]
                    self.queue.removeAll { $0.kind == .forwardRequest }
                    self.queuedBytes = self.queue.reduce(0) { $0 + $1.body.count + TransportFrame.headerBytes }
                    for pending in forwards.values {
                        pending.completion(.failure(TCPTransportError.notSent("node \(self.node) at \(self.address) is unreachable")))
                    }
                    self.scheduleReconnect()
                }
            }
    }

    /// On the event loop: the connection is up (with TLS: its handshake succeeded). The backoff
    /// resets only now, so a peer that refuses our certificate is retried ever more slowly.
    private func established(_ established: any Channel) {
        guard channel === established else { return }
        channelEstablished = true
        lastConnectFailed = false
        delayMilliseconds = transport.configuration.reconnectDelayMillisecondsMin
        transport.statistics.withLock { $0.connectionsOpened += 1 }
        transport.report(HostEvent(carriesRaft ? .info : .debug, "connected to peer at \(address)", peer: node))
        if carriesRaft { transport.peerConnected(node) }
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

    /// Called on the event loop when the connection closes: requests sent on it may or may not
    /// have been carried out.
    func connectionClosed(_ closedChannel: any Channel) {
        guard channel === closedChannel else { return }
        channel = nil
        let wasEstablished = channelEstablished
        channelEstablished = false
        if !closed && wasEstablished {
            transport.report(HostEvent(carriesRaft ? .info : .debug, "lost the connection to peer at \(address)", peer: node))
            if carriesRaft { transport.peerLost(node) }
        }
        let forwards = pendingForwards
        pendingForwards = [:]
        for pending in forwards.values {
            pending.completion(.failure(TCPTransportError.unreachable("connection to node \(node) closed")))
        }
        // Always through the backoff: frames sent while the connection was up went straight to
        // it, so the queue is often empty here, and the next send would otherwise dial again at
        // once; a peer that refuses our handshake was redialled at every heartbeat.
        if !wasEstablished || !queue.isEmpty { scheduleReconnect() }
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
            let forwards = self.pendingForwards
            self.pendingForwards = [:]
            for pending in forwards.values {
                pending.completion(.failure(TCPTransportError.unreachable("the transport is shutting down")))
            }
        }
    }

    /// Relays `payload` to the peer; `completion` runs on this link's loop with the answer,
    /// or with `notSent` (never left: safe to try elsewhere), `unreachable` (the connection
    /// closed after it was sent) or `timeout`.
    func forward(_ payload: [UInt8], timeoutMilliseconds: Int, _ completion: @escaping @Sendable (Result<[UInt8], any Error>) -> Void) {
        if eventLoop.inEventLoop {
            forwardOnLoop(payload, timeoutMilliseconds: timeoutMilliseconds, completion)
        } else {
            mailbox.post { self.forwardOnLoop(payload, timeoutMilliseconds: timeoutMilliseconds, completion) }
        }
    }

    private func forwardOnLoop(_ payload: [UInt8], timeoutMilliseconds: Int, _ completion: @escaping @Sendable (Result<[UInt8], any Error>) -> Void) {
        if channel == nil && lastConnectFailed && reconnectScheduled {
            completion(.failure(TCPTransportError.notSent("node \(node) at \(address) is unreachable (reconnecting)")))
            return
        }
        let id = nextForwardID
        nextForwardID += 1
        var writer = ByteWriter(capacity: payload.count + 16)
        writer.write(id)
        writer.writeBlob(payload)
        guard enqueueOnLoop(TransportFrame(kind: .forwardRequest, body: writer.bytes)) else {
            completion(.failure(TCPTransportError.notSent("the queue to node \(node) is full")))
            return
        }
        pendingForwards[id] = PendingForward(deadline: .now() + .milliseconds(Int64(timeoutMilliseconds)), completion: completion)
        scheduleSweep()
    }

    private func scheduleSweep() {
        guard !sweepScheduled, !pendingForwards.isEmpty else { return }
        sweepScheduled = true
        eventLoop.scheduleTask(in: .milliseconds(Self.sweepIntervalMilliseconds)) {
            self.sweepScheduled = false
            let now = NIODeadline.now()
            let expired = self.pendingForwards.filter { $0.value.deadline <= now }
            for (id, pending) in expired {
                self.pendingForwards[id] = nil
                pending.completion(.failure(TCPTransportError.timeout))
            }
            self.scheduleSweep()
        }
    }

    /// On the event loop: an answer to a forwarded request arrived.
    func forwardAnswered(_ body: [UInt8]) {
        var reader = ByteReader(body)
        guard let id = try? reader.readUInt64(), let payload = try? reader.readBlob() else { return }
        pendingForwards.removeValue(forKey: id)?.completion(.success(payload))
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
