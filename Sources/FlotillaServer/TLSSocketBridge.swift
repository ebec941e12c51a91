import FlotillaTLS
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A TLS connection handed to code written for blocking sockets: `connect` makes the TLS
/// connection with NIO, waits for its handshake, and returns one end of a socket pair whose
/// other end NIO relays to and from the connection in plaintext.
///
/// `flotilla bench`, `status` and `export` drive plain blocking sockets (a poll loop, `recv`
/// with `SO_RCVTIMEO`); the bridge gives them TLS without a second implementation of each. The
/// relay runs on NIO's shared event loops; closing the returned socket closes the TLS
/// connection, and the host closing the connection closes the socket (`recv` returns 0).
public enum TLSSocketBridge {
    /// Why `connect` gave up.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A blocking socket carrying the plaintext of a TLS connection to `host:port`, once its
    /// handshake succeeded; throws a `Failure` saying why otherwise (no connection, the host
    /// refused our certificate or we refused its).
    public static func connect(host: String, port: Int, context: NIOSSLContext,
                               group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws -> Int32 {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw Failure(description: "cannot make a socket pair: \(String(cString: strerror(errno)))")
        }
        let loop = group.next()
        // The caller's bytes wait in the socket until the handshake succeeded and the relay is in place.
        let local: any Channel
        do {
            local = try ClientBootstrap(group: loop).channelOption(.autoRead, value: false).withConnectedSocket(ends[1]).wait()
        } catch {
            close(ends[0])
            throw Failure(description: "cannot relay a socket pair: \(error)")
        }
        let handshake = loop.makePromise(of: Void.self)
        let settled = Atomic<Bool>(false)
        let settle: @Sendable (Result<Void, any Error>) -> Void = { result in
            guard !settled.exchange(true, ordering: .acquiringAndReleasing) else { return }
            handshake.completeWith(result)
        }
        do {
            let remote = try ClientBootstrap(group: loop)
                .connectTimeout(.seconds(5))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                        try channel.pipeline.syncOperations.addHandler(TLSHandshakeWatcher(completed: { settle(.success(())) }) { _, error in
                            settle(.failure(Failure(description: "the TLS handshake with \(host):\(port) failed: \(error)")))
                        })
                        try channel.pipeline.syncOperations.addHandler(TLSSocketBridgeRelay(partner: local))
                    }
                }
                .connect(host: host, port: port).wait()
            remote.closeFuture.whenComplete { _ in
                settle(.failure(Failure(description: "\(host):\(port) closed the connection during the TLS handshake")))
            }
            try handshake.futureResult.wait()
            try loop.submit {
                try local.pipeline.syncOperations.addHandler(TLSSocketBridgeRelay(partner: remote))
                local.setOption(.autoRead, value: true).whenFailure { _ in local.close(promise: nil) }
                local.read()
            }.wait()
        } catch {
            local.close(promise: nil)
            close(ends[0])
            if let failure = error as? Failure { throw failure }
            throw Failure(description: "cannot connect to \(host):\(port): \(error)")
        }
        return ends[0]
    }
}
