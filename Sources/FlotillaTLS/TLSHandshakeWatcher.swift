import NIOCore
import NIOSSL
import NIOTLS

/// Sits right after a `NIOSSLServerHandler` or `NIOSSLClientHandler` and tells its owner how
/// the handshake ended: `completed` once it succeeded, `refused` (with the peer's address and
/// the error) when it failed, e.g. a peer whose certificate the CA did not sign, a peer that
/// refused ours, or plain TCP on a TLS port. Everything else passes through.
///
/// Between hosts (`requiresMemberCertificate`) it also applies `MemberCertificateRule` to the
/// peer's certificate once the handshake succeeded: NIOSSL announces the handshake before it
/// decrypts any application data, so a refused peer is closed before a single frame reaches
/// the decoder, and is reported as `refused` like any failed handshake.
///
/// A handshake has a deadline (TLS itself has none): a connection that never completes one (a
/// client that connects and says nothing, a peer that accepts TCP and stalls) is closed after
/// `handshakeTimeoutSeconds`, so it neither holds a socket unauthenticated nor leaves a link
/// "up" that carries nothing.
public final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny
    private let completed: () -> Void
    private let refused: (_ peer: String, _ error: any Error) -> Void
    private let requiresMemberCertificate: Bool
    private var done = false
    /// The peer's certificate was refused: the channel is closing, and nothing it sent is passed on.
    private var rejected = false
    private var deadline: Scheduled<Void>?
    public static let handshakeTimeoutSeconds: Int64 = 10

    /// Why a connection was closed before its handshake completed.
    public struct HandshakeTimedOut: Error, CustomStringConvertible {
        public var description: String { "no TLS handshake within \(TLSHandshakeWatcher.handshakeTimeoutSeconds) s" }
    }

    public init(requiresMemberCertificate: Bool = false, completed: @escaping () -> Void = {},
                refused: @escaping (_ peer: String, _ error: any Error) -> Void) {
        self.requiresMemberCertificate = requiresMemberCertificate
        self.completed = completed
        self.refused = refused
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armDeadline(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        armDeadline(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    private func armDeadline(context: ChannelHandlerContext) {
        guard deadline == nil, !done else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .seconds(Self.handshakeTimeoutSeconds)) {
            let (watcher, context) = bound.value
            guard !watcher.done else { return }
            watcher.done = true
            watcher.refused(Self.describe(context.channel.remoteAddress), HandshakeTimedOut())
            context.close(promise: nil)
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !rejected else { return }
        context.fireChannelRead(data)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls, !done {
            done = true
            deadline?.cancel()
            deadline = nil
            if requiresMemberCertificate,
               let refusal = MemberCertificateRule.refusal(of: try? context.pipeline.syncOperations.nioSSL_peerCertificate()) {
                rejected = true
                refused(Self.describe(context.channel.remoteAddress), refusal)
                context.close(promise: nil)
                return
            }
            completed()
        }
        guard !rejected else { return }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            deadline?.cancel()
            deadline = nil
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
