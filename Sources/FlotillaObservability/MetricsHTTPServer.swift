import NIOCore
import NIOHTTP1
import NIOPosix

/// The `--metrics-addr` listener: plain HTTP/1.1 on the host's own event loops (a scrape costs
/// no thread of its own), serving `/metrics` and `/health`.
public final class MetricsHTTPServer: Sendable {
    let channel: any Channel

    /// Binds `host:port` (SO_REUSEADDR, like the other ports: a restarted host binds at once).
    public init(host: String, port: Int, observing observed: any ObservedHost, sharing group: any EventLoopGroup) throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(host: observed))
                }
            }
        channel = try bootstrap.bind(host: host, port: port).wait()
    }

    /// The bound port (useful after binding port 0).
    public var port: Int? { channel.localAddress?.port }

    /// Stops listening; a scrape in progress may be cut short.
    public func shutdown() {
        try? channel.close().wait()
    }
}
