import ArgumentParser
import Dispatch
import FlotillaHost
import FlotillaNode
import FlotillaObservability
import FlotillaRaft
import FlotillaServer
import FlotillaTLS
import FlotillaTransport
import Foundation
import Logging
import Metrics
import Prometheus

/// `flotilla serve`: run a host (SPEC "flotilla serve").
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a host: its shards, the raft port and the client port.")

    @Option(name: .customLong("node-id"), help: "This host's node id (positive, unique, never reused).")
    var nodeID: UInt64 = 1

    @Option(name: .customLong("data-dir"), help: "The LMDB log store, snapshots and host identity.")
    var dataDirectory = "./flotilla-data"

    @Option(name: .customLong("raft-addr"), help: "Where peers reach this host (HOST:PORT; a DNS name is allowed).")
    var raftAddress = "127.0.0.1:7101"

    @Option(name: .customLong("client-addr"), help: "Where the line protocol is served.")
    var clientAddress = "127.0.0.1:7301"

    @Option(name: .customLong("redis-addr"), help: "Where the Redis protocol (RESP2) is served, or 'none' (default: the --client-addr host, its port + 78).")
    var redisAddress: String?

    @Option(name: .customLong("members"), help: "The initial hosts, ID=HOST:PORT,... (first boot only; default: this host alone); each shard's voters are --replicas of them.")
    var members: String?

    @Option(name: .customLong("shards"), help: "Number of shards at creation (first boot only).")
    var shards: UInt64 = 16

    @Option(name: .customLong("replicas"),
            help: "Voters per shard at creation, placed over the --members by rendezvous hashing (first boot only; default: 3, or every member when there are fewer).")
    var replicas = 3

    @Flag(name: .customLong("join"), help: "First boot of a host an existing cluster will add with ADD-OBSERVER.")
    var join = false

    @Flag(name: .customLong("auto-rebalance"),
          help: "Plan a rebalance whenever the cluster's host list changes (ADD-HOST, DRAIN), as REBALANCE would; carried out by whichever host leads the cluster map, so give it to every host.")
    var autoRebalance = false

    @Flag(name: .customLong("leader-balance"), inversion: .prefixedNo,
          help: "Spread the shards' leaders evenly over the active hosts, and give a host back its share after an outage (off: leaders stay where elections or TRANSFER put them); done by whichever host leads the cluster map, so give every host the same.")
    var leaderBalance = true

    @Option(name: .customLong("fault-point"), help: .hidden)
    var faultPoint: String?

    @Option(name: .customLong("metrics-addr"),
            help: "Where GET /metrics (Prometheus text) and GET /health are served; 'none' turns it off (default: the --client-addr host, its port + 200).")
    var metricsAddress: String?

    @Option(name: .customLong("log-level"), help: "Least severe log lines written to stderr: trace, debug, info, notice, warning, error.")
    var logLevel: LogLevel = .info

    @Option(name: .customLong("tick-ms"), help: .hidden)
    var tickMilliseconds = 50

    @Option(name: .customLong("snapshot-every"), help: "Take a snapshot every this many applied entries.")
    var snapshotEveryEntries: UInt64 = 10_000

    @Option(name: .customLong("workers"), help: "Step workers, each owning a share of the shards (default: one per two cores).")
    var workers: Int?

    @Option(name: .customLong("threads"), help: "Event loops for client and peer connections (default: the number of cores).")
    var threads: Int?

    @Option(name: .customLong("store-size-max"),
            help: "The most the LMDB log store may grow to: bytes, or with a K, M, G or T suffix (powers of 1024). Beyond it writes are refused with BUSY and reads go on.")
    var storeSizeMax: ByteSize = ByteSize(bytes: 64 << 30)

    @Option(name: .customLong("tls-cert"), help: "PEM certificate (chain) of this host; with --tls-key and --tls-ca, hosts talk mutual TLS.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(name: .customLong("tls-ca"), help: "PEM certificate(s) of the CA that signs every host's (and, with --client-tls, every client's) certificate.")
    var tlsCA: String?

    @Flag(name: .customLong("client-tls"), help: "With the three TLS flags: the line protocol and RESP ports accept TLS only, with a client certificate the CA (or --client-ca) signed.")
    var clientTLS = false

    @Option(name: .customLong("client-ca"), help: "With --client-tls: PEM certificate(s) of the CA that signs client certificates, instead of --tls-ca (reloaded on SIGHUP).")
    var clientCA: String?

    /// Checks the flags that need no data dir before anything else, so that a bad `--node-id`
    /// is reported as such (and not as a bad `--members`, which defaults to this node id).
    func validate() throws {
        guard nodeID > 0 else { throw ValidationError("--node-id must be a positive integer, not \(nodeID)") }
        guard replicas >= 1 else { throw ValidationError("--replicas must be at least 1, not \(replicas)") }
        do {
            let files = try TLSFiles.fromFlags(certificate: tlsCertificate, key: tlsKey, ca: tlsCA)
            if clientTLS && files == nil { throw ValidationError("--client-tls needs --tls-cert, --tls-key and --tls-ca") }
            if clientCA != nil && !clientTLS { throw ValidationError("--client-ca needs --client-tls (it is the CA of the client ports' certificates)") }
            if let faultPoint, FaultPoint(argument: faultPoint) == nil {
                throw ValidationError("--fault-point takes NAME:FILE, NAME one of \(FaultPoint.names.joined(separator: ", "))")
            }
        } catch let error as TLSMaterialError {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        // Until the reload handler is installed, a SIGHUP (a rotation script) must not stop a
        // host that is still recovering.
        signal(SIGHUP, SIG_IGN)
        // A file size limit (RLIMIT_FSIZE) must read as a full disk (EFBIG, writes refused
        // until there is room), not kill the host.
        signal(SIGXFSZ, SIG_IGN)
        let level = logLevel.level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "flotilla")
        logger[metadataKey: "node"] = "\(nodeID)"
        do {
            let memberList = try MemberList.parse(members ?? "\(nodeID)=\(raftAddress)")
            guard let client = splitHostPort(clientAddress) else {
                throw HostRuntimeError.invalidOption("--client-addr '\(clientAddress)' is not HOST:PORT")
            }
            var options = HostRuntime.Options(nodeID: ReplicaID(nodeID), dataDirectory: dataDirectory, raftAddress: raftAddress,
                                              members: memberList, shardCount: shards, join: join)
            options.replicaCount = replicas
            options.tickMilliseconds = tickMilliseconds
            options.snapshotEveryEntries = snapshotEveryEntries
            options.storeSizeBytesMax = storeSizeMax.bytes
            if let workers { options.workerCount = max(1, min(workers, 64)) }
            if let threads {
                guard threads >= 1 && threads <= 256 else { throw HostRuntimeError.invalidOption("--threads must be 1...256") }
                options.threadCount = threads
            }
            let metricsListen = try metricsListenAddress(client: client)
            // The TLS files are read and checked before anything listens or the data dir opens.
            var tls: TLSContexts?
            do {
                if var files = try TLSFiles.fromFlags(certificate: tlsCertificate, key: tlsKey, ca: tlsCA) {
                    files.clientCA = clientCA
                    tls = try TLSContexts(files: files)
                }
            } catch let error as TLSMaterialError {
                throw HostRuntimeError.invalidOption(error.description)
            }
            options.tls = tls
            let eventLogger = HostEventLogger(logger: logger)
            let runtime = try HostRuntime.open(options) { event in eventLogger.log(event) }
            let metrics = HostMetrics()
            // Anything else in the process that speaks swift-metrics lands in the same /metrics.
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
            let observer = HostObserver(runtime: runtime, metrics: metrics)
            try runtime.start()
            let router = HostRequestRouter(runtime: runtime, recorder: metrics, faultPoint: faultPoint.flatMap(FaultPoint.init(argument:)))
            let server: ClientProtocolServer
            do {
                var configuration = ClientProtocolServer.Configuration(host: client.host, port: client.port)
                if clientTLS { configuration.tls = tls }
                server = try ClientProtocolServer(configuration: configuration, handler: router, sharing: runtime.eventLoopGroup)
            } catch {
                runtime.stop()
                throw HostRuntimeError.startup(ListenFailure.message(flag: "--client-addr", address: clientAddress, error: error))
            }
            var redisServer: ClientProtocolServer?
            let redisListen = redisAddress ?? "\(client.host):\(client.port + 78)"
            if redisListen != "none" {
                guard let redis = splitHostPort(redisListen) else {
                    server.shutdown()
                    runtime.stop()
                    throw HostRuntimeError.invalidOption("--redis-addr '\(redisListen)' is not HOST:PORT or none")
                }
                var configuration = ClientProtocolServer.Configuration(host: redis.host, port: redis.port)
                configuration.clientProtocol = .redis
                if clientTLS { configuration.tls = tls }
                do {
                    redisServer = try ClientProtocolServer(configuration: configuration, handler: router, sharing: runtime.eventLoopGroup)
                } catch {
                    server.shutdown()
                    runtime.stop()
                    throw HostRuntimeError.startup(ListenFailure.message(flag: "--redis-addr", address: redisListen, error: error))
                }
            }
            // The ports as bound (a port 0 given becomes the one the kernel chose), for ROUTES.
            func bound(_ host: String, _ port: Int?) -> String? {
                port.map { host.contains(":") && !host.hasPrefix("[") ? "[\(host)]:\($0)" : "\(host):\($0)" }
            }
            router.advertise(HostClientAddresses(line: bound(client.host, server.port),
                                                 redis: redisServer.flatMap { redis in splitHostPort(redisListen).flatMap { bound($0.host, redis.port) } }))
            observer.addServerBusyRefusals { server.busyRefusals }
            if let redisServer { observer.addServerBusyRefusals { redisServer.busyRefusals } }
            var metricsServer: MetricsHTTPServer?
            if let metricsListen {
                do {
                    metricsServer = try MetricsHTTPServer(host: metricsListen.host, port: metricsListen.port, observing: observer,
                                                          sharing: runtime.eventLoopGroup)
                } catch {
                    server.shutdown()
                    redisServer?.shutdown()
                    runtime.stop()
                    throw HostRuntimeError.startup(ListenFailure.message(flag: "--metrics-addr", address: "\(metricsListen.host):\(metricsListen.port)",
                                                                         error: error))
                }
            }
            let metricsText = metricsListen.map { "metrics on \($0.host):\($0.port)" } ?? "metrics off"
            let redisText = redisServer == nil ? "Redis protocol off" : "Redis protocol on \(redisListen)"
            let tlsText = tls.map { "TLS between hosts\(clientTLS ? " and for clients" : "")\(clientCA.map { " (client CA \($0))" } ?? "") (certificate serial \($0.contexts.material.serialHex))" } ?? "no TLS"
            logger.notice("flotilla \(Flotilla.version) node \(nodeID) serving clients on \(clientAddress), \(redisText), peers on \(raftAddress), \(metricsText), \(tlsText), data in \(dataDirectory)")
            let reloadLogger = logger
            if let tls {
                // SIGHUP: read the files again (--client-ca too); new connections use them, open ones finish
                // with the old; a failed reload keeps the old contexts.
                Self.onHangup {
                    do {
                        let material = try tls.reload()
                        reloadLogger.notice("SIGHUP: reloaded the TLS files (certificate serial \(material.serialHex))")
                    } catch {
                        reloadLogger.error("SIGHUP: TLS reload failed, keeping the current certificates: \(error)")
                    }
                }
            } else {
                Self.onHangup { reloadLogger.notice("SIGHUP: no TLS files to reload") }
            }
            router.startReplicaMover(autoRebalance: autoRebalance, leaderBalance: leaderBalance)
            let signal = await Self.waitForTermination()
            logger.notice("received \(signal): stopping")
            // Stop accepting, let in-flight requests finish (new ones get SHUTTING_DOWN) for up
            // to 3 s, then fail whatever still waits in the shards and flush the store.
            async let redisDrained = redisServer?.shutdownGracefully(drainTimeoutSeconds: 3) ?? true
            let lineDrained = await server.shutdownGracefully(drainTimeoutSeconds: 3)
            let drained = await redisDrained && lineDrained
            if !drained { logger.warning("requests still in flight after 3 s were failed") }
            router.beginShutdown()
            metricsServer?.shutdown()
            runtime.stop()
            logger.notice("stopped")
        } catch let error as HostRuntimeError {
            FileHandle.standardError.write(Data("flotilla: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// `--metrics-addr`: nil for `none`; by default the client address's host, its port + 200.
    func metricsListenAddress(client: (host: String, port: Int)) throws -> (host: String, port: Int)? {
        guard let metricsAddress else {
            guard client.port + 200 <= 65_535 else {
                throw HostRuntimeError.invalidOption("--client-addr port \(client.port) leaves no default --metrics-addr (port + 200); give one or 'none'")
            }
            return (client.host, client.port + 200)
        }
        if metricsAddress == "none" { return nil }
        guard let parsed = splitHostPort(metricsAddress) else {
            throw HostRuntimeError.invalidOption("--metrics-addr '\(metricsAddress)' is not HOST:PORT or 'none'")
        }
        return parsed
    }

    /// Waits for SIGTERM or SIGINT.
    static func waitForTermination() async -> String {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        return await withCheckedContinuation { continuation in
            let queue = DispatchQueue(label: "flotilla.signals")
            let resumed = ResumeOnce(continuation)
            var sources: [any DispatchSourceSignal] = []
            for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { resumed.resume(name) }
                source.resume()
                sources.append(source)
            }
            SignalSources.keep(sources)
        }
    }
}

/// Keeps signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
    nonisolated(unsafe) static var hangup: (any DispatchSourceSignal)?
    static func keep(_ new: [any DispatchSourceSignal]) { sources = new }
}

extension Serve {
    /// Runs `body` on each SIGHUP (on a queue of its own).
    static func onHangup(_ body: @escaping @Sendable () -> Void) {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "flotilla.sighup"))
        source.setEventHandler(handler: body)
        source.resume()
        SignalSources.hangup = source
    }
}

final class ResumeOnce: @unchecked Sendable {
    private var continuation: CheckedContinuation<String, Never>?
    private let lock = NSLock()

    init(_ continuation: CheckedContinuation<String, Never>) { self.continuation = continuation }

    func resume(_ value: String) {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume(returning: value)
    }
}
