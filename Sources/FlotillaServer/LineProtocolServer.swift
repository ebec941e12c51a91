import NIOCore
import NIOPosix

/// Serves the line protocol on a TCP address.
public final class LineProtocolServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Unanswered requests per connection before the server stops reading from it.
        public var connectionInflightRequestsMax: Int = 1_024
        /// Requests in flight across all connections before new ones get `ERR BUSY`.
        public var serverInflightRequestsMax: Int = 65_536
        public var connectionsMax: Int = 10_000

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    let group: MultiThreadedEventLoopGroup
    let channel: any Channel
    let inflight: ServerInflight

    /// Binds and starts serving (SO_REUSEADDR: a host restarted right after a kill binds again).
    public init(configuration: Configuration, handler: any ClientRequestHandler, threads: Int = 2) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let inflight = ServerInflight(maximum: configuration.serverInflightRequestsMax)
        let perConnection = configuration.connectionInflightRequestsMax
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        LineProtocolHandler(handler: handler, inflightRequestsMax: perConnection, serverInflight: inflight))
                }
            }
        do {
            channel = try bootstrap.bind(host: configuration.host, port: configuration.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.group = group
        self.inflight = inflight
    }

    public var port: Int? { channel.localAddress?.port }

    /// Stops accepting connections; open connections finish their requests.
    public func stopAccepting() {
        try? channel.close().wait()
    }

    /// Requests still being answered.
    public var requestsInFlight: Int { inflight.current }

    public func shutdown() {
        stopAccepting()
        try? group.syncShutdownGracefully()
    }
}
