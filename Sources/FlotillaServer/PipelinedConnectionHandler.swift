import DequeModule
import FlotillaEventLoop
import NIOCore

/// The NIO shell around a protocol's pure session (`ConnectionSession`): hands each request
/// the session parses to the session, and writes the answers strictly in request order
/// (pipelining). Requests on different keys run concurrently; requests sharing a key from one
/// connection run one after another, in the order sent, so a pipelined `PUT k` then `GET k`
/// reads its own write; so do administrative requests on the same shard (`ADD-OBSERVER` then
/// `PROMOTE`), and a multi-key request waits for the earlier requests on each of its keys.
///
/// No request costs a `Task` or a thread hop of its own: the engine is called on this loop,
/// and answers coming from other threads arrive through the loop's `EventLoopMailbox`, many
/// per wake-up; the socket is flushed once per batch, not once per answer. Back-pressure: past
/// `inflightRequestsMax` unanswered requests on this connection it stops reading the socket
/// (the client's sends then block in TCP, not in our memory); past the server-wide limit it
/// answers `BUSY`.
///
/// The connection is closed, always after every earlier answer is written, when a request is
/// too large or says so (Redis `QUIT`), when the client has shut down its
/// sending side and every answer is out (so that `printf 'GET k\n' | nc -N` gets its answer),
/// and when the server drains for shutdown and the connection has nothing left in flight.
final class PipelinedConnectionHandler<Session: ConnectionSession>: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Never
    typealias OutboundOut = ByteBuffer
    typealias Request = Session.Request

    private var session: Session
    let inflightRequestsMax: Int
    let serverInflight: ServerInflight
    let mailbox: EventLoopMailbox
    private var flushScheduled = false
    private var nextSequence = 0
    private var nextToWrite = 0
    private var ready: [Int: [UInt8]] = [:]
    /// The sequence number of the answer after which the connection closes.
    private var closeAfter: Int?
    private var readPending = false
    private var inputClosed = false
    private var closeWhenIdle = false
    private var closing = false
    /// For each key with a request running: the requests waiting their turn on it, in order.
    private var keyQueues: [RequestOrderingKey: Deque<Int>] = [:]
    /// Requests waiting for some of their keys, and how many keys they still wait for.
    private var waiting: [Int: (request: Request, keys: [RequestOrderingKey], keysAwaited: Int)] = [:]
    /// Requests started and not yet answered.
    private var running = 0
    /// A barrier (`SCAN`, `DBSIZE`) is running: it started once everything before it was
    /// answered, and everything after it waits in `behindBarrier` until it is answered.
    private var barrierRunning = false
    private var behindBarrier: Deque<(sequence: Int, request: Request)> = []
    private var inflight: Int { nextSequence - nextToWrite }
    /// While closing, input goes on being read and discarded: closing a socket with unread
    /// input makes the kernel send a reset, which can destroy the answers still on their way
    /// to the client (the `TOO_LARGE` one above all).
    private var mayRead: Bool { !inputClosed && (closing || closeAfter != nil || inflight < inflightRequestsMax) }
    /// How long a closing connection discards input, waiting for the client to close, before
    /// it is closed anyway.
    static var lingerSeconds: Int64 { 3 }

    init(session: Session, inflightRequestsMax: Int, serverInflight: ServerInflight, mailbox: EventLoopMailbox) {
        self.session = session
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
        let events = buffer.withUnsafeReadableBytes { session.feed($0) }
        for event in events {
            let sequence = nextSequence
            nextSequence += 1
            switch event {
            case .answerAndClose(let bytes):
                complete(sequence, bytes)
                closeAfter = sequence
                flushReady(context: context)
                return
            case .answer(let bytes):
                complete(sequence, bytes)
            case .request(let request):
                if serverInflight.isDraining {
                    complete(sequence, session.refusal(.shuttingDown, "the host is stopping; retry on another host"))
                    continue
                }
                guard serverInflight.acquire(session.slots(for: request)) else {
                    complete(sequence, session.refusal(.busy, "too many requests in flight on this host; retry after a pause"))
                    continue
                }
                if barrierRunning || !behindBarrier.isEmpty || (session.isBarrier(request) && !(running == 0 && waiting.isEmpty)) {
                    behindBarrier.append((sequence, request))
                } else {
                    admit(sequence, request, context: context)
                }
            }
        }
        flushReady(context: context)
    }

    /// Starts a request, or queues it behind the earlier requests sharing one of its keys.
    private func admit(_ sequence: Int, _ request: Request, context: ChannelHandlerContext) {
        if session.isBarrier(request) {
            barrierRunning = true
            start(sequence, request, [], context: context)
            return
        }
        let keys = Self.distinct(session.orderingKeys(of: request))
        var keysAwaited = 0
        for key in keys {
            if keyQueues[key] == nil {
                keyQueues[key] = []
            } else {
                keyQueues[key]!.append(sequence)
                keysAwaited += 1
            }
        }
        if keysAwaited == 0 {
            start(sequence, request, keys, context: context)
        } else {
            waiting[sequence] = (request, keys, keysAwaited)
        }
    }

    /// Admits what waited behind a barrier once it is answered, up to the next barrier, which
    /// starts when everything before it is answered.
    private func admitBehindBarrier(context: ChannelHandlerContext) {
        while !barrierRunning, let first = behindBarrier.first {
            if session.isBarrier(first.request) && !(running == 0 && waiting.isEmpty) { return }
            behindBarrier.removeFirst()
            admit(first.sequence, first.request, context: context)
        }
    }

    static func distinct(_ keys: [RequestOrderingKey]) -> [RequestOrderingKey] {
        guard keys.count > 1 else { return keys }
        var seen = Set<RequestOrderingKey>()
        return keys.filter { seen.insert($0).inserted }
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

    private func start(_ sequence: Int, _ request: Request, _ keys: [RequestOrderingKey], context: ChannelHandlerContext) {
        running += 1
        let isBarrier = session.isBarrier(request)
        let slots = session.slots(for: request)
        let serverInflight = self.serverInflight
        let mailbox = self.mailbox
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let boundKeys = NIOLoopBound(keys, eventLoop: context.eventLoop)
        session.start(request) { answer in
            serverInflight.release(slots)
            guard !serverInflight.isAbandoned else { return }
            mailbox.post {
                bound.value.finished(sequence, boundKeys.value, isBarrier: isBarrier, answer, context: boundContext.value)
            }
        }
    }

    /// On the event loop: an answer is in; the next request waiting on each of its keys takes
    /// the key, and starts once it holds all of its own. The socket is flushed at the end of
    /// the batch of answers this one came with.
    func finished(_ sequence: Int, _ keys: [RequestOrderingKey], isBarrier: Bool, _ answer: [UInt8], context: ChannelHandlerContext) {
        complete(sequence, answer)
        running -= 1
        if isBarrier { barrierRunning = false }
        for key in keys {
            guard let next = keyQueues[key]?.popFirst() else {
                keyQueues[key] = nil
                continue
            }
            guard var entry = waiting[next] else { continue }
            entry.keysAwaited -= 1
            if entry.keysAwaited == 0 {
                waiting[next] = nil
                start(next, entry.request, entry.keys, context: context)
            } else {
                waiting[next] = entry
            }
        }
        if !behindBarrier.isEmpty { admitBehindBarrier(context: context) }
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
