import FlotillaEventLoop
import FlotillaTLS
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Serves a client protocol (the line protocol or RESP2) on a TCP address: a thin shell that
/// gives each connection a `PipelinedConnectionHandler` with the protocol's session, and
/// keeps the limits and the shutdown state they share.
public final class ClientProtocolServer: Sendable {
    /// What the port speaks.
    public enum ClientProtocol: Sendable {
        case line
        case redis
    }

    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var clientProtocol = ClientProtocol.line
        /// Unanswered requests per connection before the server stops reading from it.
        public var connectionInflightRequestsMax: Int = 1_024
        /// Requests in flight across all connections before new ones get `ERR BUSY`.
        public var serverInflightRequestsMax: Int = 65_536
        /// `--client-tls`: TLS only, with a client certificate the CA signed; nil: plain TCP.
        public var tls: TLSContexts?

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    let group: MultiThreadedEventLoopGroup
    /// False when the loops are shared with the rest of the host (`--threads`): then stopping
    /// the server leaves them running for their owner to stop.
    let ownsGroup: Bool
    let channel: any Channel
    let inflight: ServerInflight
    let connections: ConnectionRegistry
    /// Set by the first shutdown: the event loops are gone after it, and waiting on a future
    /// of a stopped loop would never return, so later calls do nothing.
    let stopped = Atomic<Bool>(false)

    /// Binds and starts serving. SO_REUSEADDR lets a host restarted right after a SIGKILL bind
    /// its address again at once, while the old connections are still in TIME_WAIT.
    public convenience init(configuration: Configuration, handler: any ClientRequestHandler, threads: Int = 2) throws {
        try self.init(configuration: configuration, handler: handler,
                      group: MultiThreadedEventLoopGroup(numberOfThreads: threads), ownsGroup: true)
    }

    /// Serves on the loops of `group`, which the caller owns and stops (a host shares one
    /// set of loops, one per core, between its clients and its peers).
    public convenience init(configuration: Configuration, handler: any ClientRequestHandler, sharing group: MultiThreadedEventLoopGroup) throws {
        try self.init(configuration: configuration, handler: handler, group: group, ownsGroup: false)
    }

    private init(configuration: Configuration, handler: any ClientRequestHandler, group: MultiThreadedEventLoopGroup, ownsGroup: Bool) throws {
        let mailboxes = EventLoopMailboxes(group: group)
        let inflight = ServerInflight(maximum: configuration.serverInflightRequestsMax)
        let connections = ConnectionRegistry()
        let perConnection = configuration.connectionInflightRequestsMax
        let clientProtocol = configuration.clientProtocol
        let clientIDs = Atomic<Int64>(0)
        let tls = configuration.tls
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // The handler decides when to read (back-pressure), and answers a client that shut
            // down its sending side before closing.
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let mailbox = mailboxes.mailbox(for: channel.eventLoop)
                    if let tls {
                        // The context current at accept time: a SIGHUP reload applies from the next connection.
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.contexts.clientServer))
                        // Only for its deadline: a client that never completes a handshake is closed.
                        try channel.pipeline.syncOperations.addHandler(TLSHandshakeWatcher { _, _ in })
                    }
                    switch clientProtocol {
                    case .line:
                        try channel.pipeline.syncOperations.addHandler(
                            LineProtocolHandler(handler: handler, inflightRequestsMax: perConnection, serverInflight: inflight, mailbox: mailbox))
                    case .redis:
                        let session = RedisSession(handler: handler, clientID: clientIDs.add(1, ordering: .relaxed).newValue)
                        try channel.pipeline.syncOperations.addHandler(
                            PipelinedConnectionHandler(session: session, inflightRequestsMax: perConnection, serverInflight: inflight, mailbox: mailbox))
                    }
                }
            }
        do {
            channel = try bootstrap.bind(host: configuration.host, port: configuration.port).wait()
        } catch {
            if ownsGroup { try? group.syncShutdownGracefully() }
            throw error
        }
        self.group = group
        self.ownsGroup = ownsGroup
        self.inflight = inflight
        self.connections = connections
    }

    /// The bound port (useful after binding port 0).
    public var port: Int? { channel.localAddress?.port }

    /// Requests still being answered by the handler.
    public var requestsInFlight: Int { inflight.current }

    /// Requests answered `ERR BUSY` because the server was at its in-flight limit (they never
    /// reached the engine, so the engine's request counts miss them).
    public var busyRefusals: UInt64 { inflight.refusedCount }

    /// Open client connections.
    public var connectionCount: Int { connections.count }

    /// Stops accepting connections; open connections go on being served.
    public func stopAccepting() {
        guard !stopped.load(ordering: .acquiring) else { return }
        try? channel.close().wait()
    }

    /// Returns once no request is being answered by the handler (at that moment).
    public func waitUntilIdle() async {
        await inflight.waitUntilIdle()
    }

    /// SIGTERM's path: stops accepting; answers every request that arrives from now on
    /// `ERR SHUTTING_DOWN` (not applied, retry elsewhere); lets each request already in the
    /// handler finish and its answer be written, closing each connection once it has nothing
    /// left in flight; after `drainTimeoutSeconds` closes whatever is still open (the handler
    /// is expected to fail its stragglers itself, e.g. `TIMEOUT`); then stops the event loops.
    /// Returns whether every connection finished within the timeout.
    @discardableResult
    public func shutdownGracefully(drainTimeoutSeconds: Double = 10) async -> Bool {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return true }
        try? await channel.close()
        inflight.beginDraining()
        let open = connections.all
        for connection in open {
            connection.pipeline.fireUserInboundEventTriggered(CloseWhenIdle())
        }
        let eventLoop = group.next()
        let drained = eventLoop.makePromise(of: Bool.self)
        EventLoopFuture.andAllComplete(open.map(\.closeFuture), on: eventLoop).whenComplete { _ in drained.succeed(true) }
        let timer = eventLoop.scheduleTask(in: .nanoseconds(Int64(drainTimeoutSeconds * 1e9))) { drained.succeed(false) }
        let finished = (try? await drained.futureResult.get()) ?? false
        timer.cancel()
        let remaining = connections.all
        for connection in remaining {
            try? await connection.close()
        }
        for _ in 0..<Self.settleRounds {
            for loop in group.makeIterator() { try? await loop.submit {}.get() }
        }
        // Every connection is closed now: an answer that comes later has nowhere to go.
        inflight.abandon()
        if ownsGroup { try? await group.shutdownGracefully() }
        return finished
    }

    /// Stops at once: closes the listening socket and every connection, without draining.
    public func shutdown() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? channel.close().wait()
        for _ in 0..<Self.settleRounds {
            for loop in group.makeIterator() { try? loop.submit {}.wait() }
        }
        inflight.abandon()
        if ownsGroup { try? group.syncShutdownGracefully() }
    }

    /// A connection accepted just before the listening socket closed is still being set up:
    /// on its own loop, then back on the accepting loop, which finds the listener closed and
    /// closes the connection with a task on the connection's loop. Stopping the loops in the
    /// middle of that chain makes NIO schedule onto a stopped loop (an error, a crash in NIO's
    /// strict mode). Each round of empty tasks through every loop (each loop runs its tasks in
    /// order) moves such a chain on by at least one step; it has three.
    static let settleRounds = 4
}
