import FlotillaEventLoop
import NIOCore

/// The NIO shell around the pure framer and parser: frames lines, hands each request to the
/// `ClientRequestHandler`, and writes the answers strictly in request order (pipelining).
/// Requests on different keys run concurrently; requests on the same key from one connection
/// run one after another, in the order sent, so a pipelined `PUT k` then `GET k` reads its own
/// write; so do administrative requests on the same shard (`ADD-OBSERVER` then `PROMOTE`).
///
/// No request costs a `Task` or a thread hop of its own: the engine is called on this loop,
/// and answers coming from other threads arrive through the loop's `EventLoopMailbox`, many
/// per wake-up; the socket is flushed once per batch, not once per answer. Back-pressure: past `inflightRequestsMax` unanswered requests on this connection it
/// stops reading the socket (the client's sends then block in TCP, not in our memory); past the
/// server-wide limit it answers `ERR BUSY`.
///
/// The connection is closed, always after every earlier answer is written, when a line is too
/// large, when the client has shut down its sending side and every answer is out (so that
/// `printf 'GET k\n' | nc -N` gets its answer), and when the server drains for shutdown and
/// the connection has nothing left in flight.
final class LineProtocolHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Never
    typealias OutboundOut = ByteBuffer

    /// Sent through the pipeline by a draining server: finish what is in flight, then close.
    struct CloseWhenIdle: Sendable {}

    let handler: any ClientRequestHandler
    let inflightRequestsMax: Int
    let serverInflight: ServerInflight
    let mailbox: EventLoopMailbox
    private var flushScheduled = false
    private var framer = LineFramer()
    private var nextSequence = 0
    private var nextToWrite = 0
    private var ready: [Int: [UInt8]] = [:]
    /// The sequence number of the `TOO_LARGE` answer after which the connection closes.
    private var closeAfter: Int?
    private var readPending = false
    private var inputClosed = false
    private var closeWhenIdle = false
    private var closing = false
    /// Keys with a request running, and the requests on them waiting their turn.
    private var keyQueues: [RequestOrderingKey: [(sequence: Int, request: ClientRequest)]] = [:]
    private var inflight: Int { nextSequence - nextToWrite }
    /// While closing, input goes on being read and discarded: closing a socket with unread
    /// input makes the kernel send a reset, which can destroy the answers still on their way
    /// to the client (the `TOO_LARGE` one above all).
    private var mayRead: Bool { !inputClosed && (closing || closeAfter != nil || inflight < inflightRequestsMax) }
    /// How long a closing connection discards input, waiting for the client to close, before
    /// it is closed anyway.
    static let lingerSeconds: Int64 = 3

    init(handler: any ClientRequestHandler, inflightRequestsMax: Int, serverInflight: ServerInflight, mailbox: EventLoopMailbox) {
        self.handler = handler
        self.inflightRequestsMax = inflightRequestsMax
        self.serverInflight = serverInflight
        self.mailbox = mailbox
    }

    func channelActive(context: ChannelHandlerContext) {
        // A connection accepted just as the server began draining is told so on its requests,
        // then closed.
        if serverInflight.isDraining { closeWhenIdle = true }
        context.read()
        context.fireChannelActive()
    }

    func read(context: ChannelHandlerContext) {
        // Reads are issued by this handler itself, according to the in-flight count.
        if mayRead {
            context.read()
        } else {
            readPending = true
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard closeAfter == nil, !closing else { return }
        let buffer = unwrapInboundIn(data)
        let events = buffer.withUnsafeReadableBytes { framer.feed($0) }
        for event in events {
            let sequence = nextSequence
            nextSequence += 1
            switch event {
            case .tooLarge:
                complete(sequence, ResponseRenderer.render(.error(.tooLarge,
                    "request line over \(LineProtocolLimits.lineBytesMax) bytes; closing the connection")))
                closeAfter = sequence
                flushReady(context: context)
                return
            case .line(let line):
                switch RequestParser.parse(line) {
                case .failure(let refusal):
                    complete(sequence, ResponseRenderer.render(.error(refusal.code, refusal.message)))
                case .success(let request):
                    if serverInflight.isDraining {
                        complete(sequence, ResponseRenderer.render(.error(.shuttingDown, "the host is stopping; retry on another host")))
                        continue
                    }
                    guard serverInflight.acquire() else {
                        complete(sequence, ResponseRenderer.render(.error(.busy, "too many requests in flight on this host; retry after a pause")))
                        continue
                    }
                    if let key = RequestOrderingKey(request) {
                        if keyQueues[key] != nil {
                            keyQueues[key]!.append((sequence, request))
                            continue
                        }
                        keyQueues[key] = []
                    }
                    start(sequence, request, context: context)
                }
            }
        }
        flushReady(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if mayRead {
            context.read()
        } else {
            readPending = true
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            // The client sent everything it will send; a partial last line is dropped.
            inputClosed = true
            if closing {
                // Lingering after the last answer: nothing more to wait for once it is out.
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                    channel.close(promise: nil)
                }
            } else {
                flushReady(context: context)
            }
        case is CloseWhenIdle:
            closeWhenIdle = true
            flushReady(context: context)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func start(_ sequence: Int, _ request: ClientRequest, context: ChannelHandlerContext) {
        let serverInflight = self.serverInflight
        let mailbox = self.mailbox
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        handler.handle(request) { response in
            let bytes = ResponseRenderer.render(response)
            serverInflight.release()
            guard !serverInflight.isAbandoned else { return }
            mailbox.post {
                bound.value.finished(sequence, request, bytes, context: boundContext.value)
            }
        }
    }

    /// On the event loop: an answer is in; start the next request on the same key. The socket
    /// is flushed at the end of the batch of answers this one came with.
    func finished(_ sequence: Int, _ request: ClientRequest, _ bytes: [UInt8], context: ChannelHandlerContext) {
        complete(sequence, bytes)
        if let key = RequestOrderingKey(request), var waiting = keyQueues[key] {
            if waiting.isEmpty {
                keyQueues[key] = nil
            } else {
                let next = waiting.removeFirst()
                keyQueues[key] = waiting
                start(next.sequence, next.request, context: context)
            }
        }
        guard !flushScheduled else { return }
        flushScheduled = true
        mailbox.atEndOfBatch { [self] in
            flushScheduled = false
            flushReady(context: context)
        }
    }

    private func complete(_ sequence: Int, _ bytes: [UInt8]) {
        ready[sequence] = bytes
    }

    /// Writes every answer that is next in order; resumes reading when room frees up; closes
    /// when the connection is done.
    func flushReady(context: ChannelHandlerContext) {
        guard context.channel.isActive, !closing else { return }
        var wrote = false
        while let bytes = ready.removeValue(forKey: nextToWrite) {
            var buffer = context.channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            context.write(wrapOutboundOut(buffer), promise: nil)
            wrote = true
            nextToWrite += 1
            if let closeAfter, nextToWrite > closeAfter {
                closeAfterWrites(context: context)
                return
            }
        }
        if wrote { context.flush() }
        if (inputClosed || closeWhenIdle) && inflight == 0 {
            closeAfterWrites(context: context)
            return
        }
        if readPending && mayRead {
            readPending = false
            context.read()
        }
    }

    /// Closes once every answer written so far is on the wire: a close with writes still
    /// queued would drop them, so the close waits for a last (empty) write to complete. Unless
    /// the client already finished sending, only the sending side is shut then (the client
    /// reads the answers, then the end), and the input is discarded until the client closes
    /// or `lingerSeconds` pass.
    private func closeAfterWrites(context: ChannelHandlerContext) {
        closing = true
        let channel = context.channel
        let linger = !inputClosed
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            guard linger else {
                channel.close(promise: nil)
                return
            }
            let outputClosed = channel.eventLoop.makePromise(of: Void.self)
            channel.close(mode: .output, promise: outputClosed)
            outputClosed.futureResult.whenComplete { result in
                guard case .success = result else {
                    channel.close(promise: nil)
                    return
                }
                channel.eventLoop.scheduleTask(in: .seconds(Self.lingerSeconds)) { channel.close(promise: nil) }
            }
        }
        if linger && readPending {
            readPending = false
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
