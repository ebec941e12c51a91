import NIOCore
import NIOSSL
import NIOTLS

/// Sits right after a `NIOSSLServerHandler` or `NIOSSLClientHandler` and tells its owner how
/// the handshake ended: `completed` once it succeeded, `refused` (with the peer's address and
/// the error) when it failed, e.g. a peer whose certificate the CA did not sign, a peer that
/// refused ours, or plain TCP on a TLS port. Everything else passes through.
public final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny
    private let completed: () -> Void
    private let refused: (_ peer: String, _ error: any Error) -> Void
    private var done = false

    public init(completed: @escaping () -> Void = {}, refused: @escaping (_ peer: String, _ error: any Error) -> Void) {
        self.completed = completed
        self.refused = refused
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls, !done {
            done = true
            completed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            refused(Self.describe(context.channel.remoteAddress), error)
        }
        context.fireErrorCaught(error)
    }

    public static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "an unknown address" }
        if let ip = address.ipAddress, let port = address.port { return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)" }
        return "\(address)"
    }
}
