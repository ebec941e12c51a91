import NIOCore
import Synchronization

/// The NIO shell around the pure parser: frames lines, hands each request to the
/// `ClientRequestHandler`, and writes the answers strictly in request order (pipelining).
/// Requests on different keys run concurrently; requests on the same key from one connection
/// run one after another, in the order sent, so a pipelined `PUT k` then `GET k` reads its own
/// write. Back-pressure: past `inflightRequestsMax` unanswered requests on this connection it
/// stops reading the socket; past the server-wide limit it answers `ERR BUSY`.
final class LineProtocolHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Never
    typealias OutboundOut = ByteBuffer

    let handler: any ClientRequestHandler
    let inflightRequestsMax: Int
    let serverInflight: ServerInflight
    private var framer = LineFramer()
    private var nextSequence = 0
    private var nextToWrite = 0
    private var ready: [Int: [UInt8]] = [:]
    private var closeAfter: Int?
    private var readPending = false
    /// Keys with a request running, and the requests on them waiting their turn.
    private var keyQueues: [[UInt8]: [(sequence: Int, request: ClientRequest)]] = [:]
    private var inflight: Int { nextSequence - nextToWrite }

    init(handler: any ClientRequestHandler, inflightRequestsMax: Int, serverInflight: ServerInflight) {
        self.handler = handler
        self.inflightRequestsMax = inflightRequestsMax
        self.serverInflight = serverInflight
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }

    func read(context: ChannelHandlerContext) {
        // Reads are issued by this handler itself, according to the in-flight count.
        if inflight < inflightRequestsMax && closeAfter == nil {
            context.read()
        } else {
            readPending = true
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard closeAfter == nil else { return }
        let buffer = unwrapInboundIn(data)
        let events = buffer.withUnsafeReadableBytes { framer.feed($0) }
        for event in events {
            let sequence = nextSequence
            nextSequence += 1
            switch event {
            case .tooLarge:
                complete(sequence, ResponseRenderer.render(.error(.tooLarge,
                    "request line over \(LineProtocolLimits.lineBytesMax) bytes; closing the connection")), context: context)
                closeAfter = sequence
                flushReady(context: context)
                return
            case .line(let line):
                switch RequestParser.parse(line) {
                case .failure(let refusal):
                    complete(sequence, ResponseRenderer.render(.error(refusal.code, refusal.message)), context: context)
                case .success(let request):
                    guard serverInflight.acquire() else {
                        complete(sequence, ResponseRenderer.render(.error(.busy, "too many requests in flight on this host; retry after a pause")), context: context)
                        continue
                    }
                    if let key = Self.key(of: request) {
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
        if inflight < inflightRequestsMax && closeAfter == nil {
            context.read()
        } else {
            readPending = true
        }
    }

    private func start(_ sequence: Int, _ request: ClientRequest, context: ChannelHandlerContext) {
        let handler = self.handler
        let serverInflight = self.serverInflight
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        Task {
            let response = await handler.handle(request)
            serverInflight.release()
            let bytes = ResponseRenderer.render(response)
            eventLoop.execute {
                bound.value.finished(sequence, request, bytes, context: boundContext.value)
            }
        }
    }

    /// On the event loop: an answer is in; start the next request on the same key.
    func finished(_ sequence: Int, _ request: ClientRequest, _ bytes: [UInt8], context: ChannelHandlerContext) {
        complete(sequence, bytes, context: context)
        if let key = Self.key(of: request), var waiting = keyQueues[key] {
            if waiting.isEmpty {
                keyQueues[key] = nil
            } else {
                let next = waiting.removeFirst()
                keyQueues[key] = waiting
                start(next.sequence, next.request, context: context)
            }
        }
        flushReady(context: context)
    }

    static func key(of request: ClientRequest) -> [UInt8]? {
        switch request {
        case .put(let key, _), .get(let key), .staleGet(let key), .delete(let key), .compareAndSet(let key, _, _): return key
        default: return nil
        }
    }

    private func complete(_ sequence: Int, _ bytes: [UInt8], context: ChannelHandlerContext) {
        ready[sequence] = bytes
    }

    /// Writes every answer that is next in order; resumes reading when room frees up.
    func flushReady(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var wrote = false
        while let bytes = ready.removeValue(forKey: nextToWrite) {
            var buffer = context.channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            context.write(wrapOutboundOut(buffer), promise: nil)
            wrote = true
            if let closeAfter, nextToWrite == closeAfter {
                nextToWrite += 1
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                    channel.close(promise: nil)
                }
                return
            }
            nextToWrite += 1
        }
        if wrote { context.flush() }
        if readPending && inflight < inflightRequestsMax && closeAfter == nil {
            readPending = false
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Requests in flight across all connections of a server, bounded.
final class ServerInflight: Sendable {
    let maximum: Int
    private let count = Atomic<Int>(0)

    init(maximum: Int) { self.maximum = maximum }

    func acquire() -> Bool {
        if count.add(1, ordering: .relaxed).newValue > maximum {
            count.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() { count.subtract(1, ordering: .relaxed) }

    var current: Int { count.load(ordering: .relaxed) }
}
