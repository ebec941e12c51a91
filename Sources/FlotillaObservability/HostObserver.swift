import FlotillaHost
import FlotillaNode
import FlotillaRaft
import FlotillaServer
import Synchronization

/// What the metrics listener asks of a running host: its health, and its metrics rendered.
public protocol ObservedHost: Sendable {
    func health() -> HealthReport
    /// Calls `completion` once, from any thread, with the Prometheus text.
    func renderMetrics(completion: @escaping @Sendable ([UInt8]) -> Void)
}

/// A running host seen from the outside: reads the NodeHost, the transport, the log store and
/// the client server's counters, and feeds them to `HostMetrics` on each scrape.
public final class HostObserver: ObservedHost {
    public let runtime: HostRuntime
    public let metrics: HostMetrics
    /// Requests refused `BUSY` by client servers before reaching the engine (added to the
    /// engine's own busy count); set once the servers are up.
    private let serverBusyRefusals = Mutex<[@Sendable () -> UInt64]>([])

    public init(runtime: HostRuntime, metrics: HostMetrics) {
        self.runtime = runtime
        self.metrics = metrics
        runtime.store.statistics.observeCommits { [metrics] nanoseconds in metrics.recordCommit(nanoseconds: nanoseconds) }
    }

    /// Counts the `BUSY` refusals of a client server (the line protocol's, or another's).
    public func addServerBusyRefusals(_ read: @escaping @Sendable () -> UInt64) {
        serverBusyRefusals.withLock { $0.append(read) }
    }

    public func health() -> HealthReport {
        HealthReport(shards: runtime.nodeHost.rolesAndLeaders.map { ($0.shard, $0.role, $0.leader) })
    }

    public var counterReadings: HostCounterReadings {
        var readings = HostCounterReadings()
        let host = runtime.nodeHost.counters
        let transport = runtime.transport.counters
        readings.electionsStarted = host.electionsStarted.load(ordering: .relaxed)
        let serverRefusals = serverBusyRefusals.withLock { $0 }.reduce(UInt64(0)) { $0 + $1() }
        readings.busyRefusals = host.busyRefusals.load(ordering: .relaxed) + serverRefusals
        readings.logStoreSyncs = runtime.store.statistics.syncs.load(ordering: .relaxed)
        readings.transportBytesReceived = transport.bytesReceived.load(ordering: .relaxed)
        readings.transportBytesSent = transport.bytesSent.load(ordering: .relaxed)
        readings.transportMessagesDropped = UInt64(max(0, runtime.transport.currentStatistics.messagesDropped))
        readings.snapshotBytesReceived = transport.snapshotBytesReceived.load(ordering: .relaxed)
        readings.snapshotBytesSent = transport.snapshotBytesSent.load(ordering: .relaxed)
        readings.tlsHandshakesRefused = transport.tlsHandshakesRefused.load(ordering: .relaxed)
        readings.relayedRequests = transport.relayedRequests.load(ordering: .relaxed)
        return readings
    }

    public func renderMetrics(completion: @escaping @Sendable ([UInt8]) -> Void) {
        let metrics = self.metrics
        let readings = counterReadings
        runtime.nodeHost.statuses { statuses in
            metrics.refresh(counters: readings, statuses: statuses)
            completion(metrics.render())
        }
    }
}
