import NIOCore
import NIOHTTP1

/// One HTTP/1.1 connection of the metrics listener: `GET /metrics` and `GET /health`, 404 for
/// any other path, 405 for any other method. Requests are answered in order (NIO's server
/// pipeline holds a pipelined request until the previous response ends).
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let host: any ObservedHost
    private var request: HTTPRequestHead?

    init(host: any ObservedHost) { self.host = host }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            answer(head, context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.method == .GET || head.method == .HEAD else {
            return respond(head, .methodNotAllowed, "text/plain; charset=utf-8", Array("only GET\n".utf8), context: context)
        }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch path {
        case "/health":
            let report = host.health()
            respond(head, report.isHealthy ? .ok : .serviceUnavailable, "text/plain; charset=utf-8", Array(report.body.utf8), context: context)
        case "/metrics":
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            host.renderMetrics { text in
                eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.respond(head, .ok, "text/plain; version=0.0.4; charset=utf-8", text, context: context)
                }
            }
        default:
            respond(head, .notFound, "text/plain; charset=utf-8", Array("not found: try /metrics or /health\n".utf8), context: context)
        }
    }

    private func respond(_ request: HTTPRequestHead, _ status: HTTPResponseStatus, _ contentType: String, _ body: [UInt8],
                         context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.count)")
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
