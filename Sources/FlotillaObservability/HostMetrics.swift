import FlotillaHost
import FlotillaRaft
import FlotillaServer
import Prometheus
import Synchronization

/// The host's Prometheus metrics (SPEC "Observability"), in a swift-prometheus registry.
///
/// What happens per request is counted without a lock or an allocation: one atomic counter per
/// command and result, made in advance and found by index, and one histogram observation. What
/// the host already counts (elections, syncs, bytes on the wire) stays in the host's own atomics
/// and is copied into the registry's counters when scraped. The per-replica gauges are computed
/// at scrape time from the replicas' status, which costs nothing between scrapes.
public final class HostMetrics: RequestRecorder, Sendable {
    public let registry: PrometheusCollectorRegistry
    private let requests: [Counter]
    private let requestDuration: DurationHistogram
    /// The log store's commit durations (observed on the writer thread, once per transaction).
    public let logStoreCommitDuration: DurationHistogram
    private let elections: Counter
    private let busy: Counter
    private let syncs: Counter
    private let transportBytesReceived: Counter
    private let transportBytesSent: Counter
    private let transportDropped: Counter
    private let snapshotBytesReceived: Counter
    private let snapshotBytesSent: Counter
    private let tlsHandshakesRefused: Counter
    private let relayedRequests: Counter
    private let scrape = Mutex(ScrapeState())

    struct ReplicaKey: Hashable {
        var shard: ShardID
        var replica: ReplicaID
    }

    struct ReplicaGauges {
        var role: Gauge
        var commit: Gauge
        var applied: Gauge
    }

    /// Touched only while scraping.
    struct ScrapeState {
        var exported = HostCounterReadings()
        var replicas: [ReplicaKey: ReplicaGauges] = [:]
        var lags: [ReplicaKey: Gauge] = [:]
    }

    /// Request latencies from 100 µs to 10 s.
    static let requestBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]
    /// Commit (write transaction and fdatasync) durations from 50 µs to 1 s.
    static let commitBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .seconds(1),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "flotilla", metricName: metric, unitName: unit, helpText: help)
        }
        let requestName = name("requests", "total", "Client requests answered by this host, by command and result (ok, not_found, mismatch, or the error code).")
        var requests: [Counter] = []
        for command in RequestCommand.allCases {
            for result in RequestResult.allCases {
                requests.append(registry.makeCounter(descriptor: requestName, labels: [("command", command.label), ("result", result.label)]))
            }
        }
        self.requests = requests
        requestDuration = registry.makeDurationHistogram(
            descriptor: name("request_duration", "seconds", "Time from a client request reaching the engine to its answer."),
            buckets: Self.requestBuckets)
        logStoreCommitDuration = registry.makeDurationHistogram(
            descriptor: name("logstore_commit_duration", "seconds", "Duration of one log store write transaction, its fdatasync included."),
            buckets: Self.commitBuckets)
        elections = registry.makeCounter(descriptor: name("elections", "total", "Elections started by this host's replicas."))
        busy = registry.makeCounter(descriptor: name("busy", "total", "Requests refused with BUSY (back-pressure) on this host."))
        syncs = registry.makeCounter(descriptor: name("logstore_syncs", "total", "fdatasync calls of the log store."))
        let bytes = name("transport_bytes", "total", "Bytes of frames between hosts, by direction (in, out).")
        transportBytesReceived = registry.makeCounter(descriptor: bytes, labels: [("direction", "in")])
        transportBytesSent = registry.makeCounter(descriptor: bytes, labels: [("direction", "out")])
        transportDropped = registry.makeCounter(descriptor: name("transport_dropped", "total", "Raft messages dropped because a peer's queue was full or its link closed."))
        let snapshot = name("snapshot_bytes", "total", "Bytes of snapshot chunks between hosts, by direction (in, out).")
        snapshotBytesReceived = registry.makeCounter(descriptor: snapshot, labels: [("direction", "in")])
        snapshotBytesSent = registry.makeCounter(descriptor: snapshot, labels: [("direction", "out")])
        tlsHandshakesRefused = registry.makeCounter(descriptor: name("tls_handshakes_refused", "total",
                                                                     "TLS handshakes with peers that failed (a certificate the CA did not sign, a peer that refused ours, plain TCP on the raft port)."))
        relayedRequests = registry.makeCounter(descriptor: name("relayed_requests", "total",
                                                                "Client requests this host relayed toward a shard's leader on another host."))
    }

    static let resultCount = RequestResult.allCases.count

    // MARK: - The request path

    public func record(_ command: RequestCommand, _ result: RequestResult, nanoseconds: UInt64) {
        requests[command.rawValue * Self.resultCount + result.rawValue].increment()
        requestDuration.record(.nanoseconds(Int64(clamping: nanoseconds)))
    }

    /// For the log store's commit observer.
    public func recordCommit(nanoseconds: UInt64) {
        logStoreCommitDuration.record(.nanoseconds(Int64(clamping: nanoseconds)))
    }

    // MARK: - Scraping

    /// Brings the registry up to date with the host's counters and its replicas' status.
    /// `statuses` are this host's replicas; on a leader, `lagEntries` names each other member.
    public func refresh(counters: HostCounterReadings, statuses: [ShardStatus]) {
        let metrics = self
        scrape.withLock { state in
            func advance(_ counter: Counter, _ now: UInt64, _ before: UInt64) {
                if now > before { counter.increment(by: Int64(clamping: now - before)) }
            }
            let before = state.exported
            advance(metrics.elections, counters.electionsStarted, before.electionsStarted)
            advance(metrics.busy, counters.busyRefusals, before.busyRefusals)
            advance(metrics.syncs, counters.logStoreSyncs, before.logStoreSyncs)
            advance(metrics.transportBytesReceived, counters.transportBytesReceived, before.transportBytesReceived)
            advance(metrics.transportBytesSent, counters.transportBytesSent, before.transportBytesSent)
            advance(metrics.transportDropped, counters.transportMessagesDropped, before.transportMessagesDropped)
            advance(metrics.snapshotBytesReceived, counters.snapshotBytesReceived, before.snapshotBytesReceived)
            advance(metrics.snapshotBytesSent, counters.snapshotBytesSent, before.snapshotBytesSent)
            advance(metrics.tlsHandshakesRefused, counters.tlsHandshakesRefused, before.tlsHandshakesRefused)
            advance(metrics.relayedRequests, counters.relayedRequests, before.relayedRequests)
            state.exported = counters

            var seen: Set<ReplicaKey> = []
            var seenLags: Set<ReplicaKey> = []
            for status in statuses {
                let key = ReplicaKey(shard: status.shard, replica: status.replica)
                seen.insert(key)
                let gauges = state.replicas[key] ?? metrics.makeReplicaGauges(key)
                state.replicas[key] = gauges
                gauges.role.set(Int64(Self.roleCode(status.role)))
                gauges.commit.set(Int64(clamping: status.commit.rawValue))
                gauges.applied.set(Int64(clamping: status.applied.rawValue))
                for (peer, lag) in status.lagEntries {
                    let lagKey = ReplicaKey(shard: status.shard, replica: peer)
                    seenLags.insert(lagKey)
                    let gauge = state.lags[lagKey] ?? metrics.makeLagGauge(lagKey)
                    state.lags[lagKey] = gauge
                    gauge.set(Int64(clamping: lag))
                }
            }
            // A replica gone from this host, or a shard this host no longer leads, stops
            // being reported instead of showing its last value forever.
            for (key, gauges) in state.replicas where !seen.contains(key) {
                metrics.registry.unregisterGauge(gauges.role)
                metrics.registry.unregisterGauge(gauges.commit)
                metrics.registry.unregisterGauge(gauges.applied)
                state.replicas[key] = nil
            }
            for (key, gauge) in state.lags where !seenLags.contains(key) {
                metrics.registry.unregisterGauge(gauge)
                state.lags[key] = nil
            }
        }
    }

    /// The Prometheus text format.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(64 << 10)
        registry.emit(into: &buffer)
        return buffer
    }

    /// `flotilla_replica_role`'s values (a gauge holds numbers; the README lists them).
    public static func roleCode(_ role: RaftRole) -> Int {
        switch role {
        case .follower: return 0
        case .preCandidate: return 1
        case .candidate: return 2
        case .leader: return 3
        case .observer: return 4
        case .removed: return 5
        }
    }

    private static func labels(_ key: ReplicaKey) -> [(String, String)] {
        [("shard", "\(key.shard)"), ("replica", "\(key.replica)")]
    }

    private func makeReplicaGauges(_ key: ReplicaKey) -> ReplicaGauges {
        let labels = Self.labels(key)
        return ReplicaGauges(
            role: registry.makeGauge(descriptor: Self.roleName, labels: labels),
            commit: registry.makeGauge(descriptor: Self.commitName, labels: labels),
            applied: registry.makeGauge(descriptor: Self.appliedName, labels: labels))
    }

    private func makeLagGauge(_ key: ReplicaKey) -> Gauge {
        registry.makeGauge(descriptor: Self.lagName, labels: Self.labels(key))
    }

    static var roleName: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "flotilla", metricName: "replica_role", unitName: "",
        helpText: "Role of this host's replica: 0 follower, 1 pre-candidate, 2 candidate, 3 leader, 4 observer, 5 removed.") }
    static var commitName: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "flotilla", metricName: "replica_commit", unitName: "index", helpText: "Commit index of this host's replica.") }
    static var appliedName: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "flotilla", metricName: "replica_applied", unitName: "index", helpText: "Applied index of this host's replica.") }
    static var lagName: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "flotilla", metricName: "replica_lag", unitName: "entries",
        helpText: "On a leader: how many entries each follower and observer is behind the leader's last index.") }
}
