import ArgumentParser
import FlotillaHost
import FlotillaHostTesting
import FlotillaLogStore
import FlotillaNode
import FlotillaRaft
import FlotillaTransport
import Foundation

/// In-process benchmarks of the NodeHost (three hosts, no sockets):
///
///     flotilla-host-benchmark proposals [--shards 64] [--proposers 512] [--seconds 10] [--store lmdb|memory]
///     flotilla-host-benchmark idle [--shards 1000] [--seconds 10]
///     flotilla-host-benchmark forward [--concurrency 64]
///     flotilla-host-benchmark snapshot [--megabytes 1024]
///
/// With no mode it runs `proposals`.
@main
struct HostBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flotilla-host-benchmark",
        abstract: "In-process benchmarks of the NodeHost: three hosts in one process, no sockets.",
        subcommands: [ProposalsBenchmark.self, IdleBenchmark.self, ForwardBenchmark.self, SnapshotBenchmark.self],
        defaultSubcommand: ProposalsBenchmark.self)

    /// Runs `body` with a fresh directory under the system's temporary directory, removed afterwards.
    static func withScratchDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let root = NSTemporaryDirectory() + "flotilla-host-benchmark-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        return try await body(root)
    }

    struct Cluster {
        var hosts: [NodeHost] = []
        var stores: [LogStore] = []
        let network = MemoryNetwork()

        func stop() {
            for host in hosts { host.stop() }
            for store in stores { store.close() }
        }
    }

    static func startCluster(root: String, shards: Int, lmdb: Bool, tune: (inout NodeHostConfiguration) -> Void = { _ in }) throws -> Cluster {
        var cluster = Cluster()
        let membership = Membership(voters: [ReplicaID(1): "1", ReplicaID(2): "2", ReplicaID(3): "3"])
        for node in 1...3 as ClosedRange<UInt64> {
            var configuration = NodeHostConfiguration(nodeID: ReplicaID(node), clusterID: 1, dataDirectory: "\(root)/node-\(node)")
            configuration.shardCount = UInt64(shards)
            tune(&configuration)
            let store: any HostLogStore
            if lmdb {
                let logStore = try LogStore(directory: "\(root)/node-\(node)", configuration: LogStoreConfiguration(nodeID: node, clusterID: 1))
                cluster.stores.append(logStore)
                store = LMDBHostLogStore(store: logStore)
            } else {
                store = MemoryHostLogStore()
            }
            let host = try NodeHost(configuration: configuration, store: store, transport: cluster.network.transport(for: ReplicaID(node)))
            for shard in 1...shards { try host.bootstrapShard(ShardID(UInt64(shard)), membership: membership) }
            cluster.network.attach(ReplicaID(node), receiver: host, snapshotDirectory: "\(root)/node-\(node)/incoming")
            cluster.hosts.append(host)
        }
        for host in cluster.hosts { host.start() }
        return cluster
    }

    static func waitForLeaders(_ cluster: Cluster, shards: Int) async throws -> [NodeHost] {
        var leaders: [NodeHost] = []
        let deadline = Date().addingTimeInterval(120)
        for shard in 1...shards {
            while true {
                if let leader = cluster.hosts.first(where: { $0.role(in: ShardID(UInt64(shard))) == .leader }) {
                    leaders.append(leader)
                    break
                }
                if Date() > deadline { throw CancellationError() }
                try await Task.sleep(nanoseconds: 2_000_000)
            }
        }
        return leaders
    }

    static func proposals(root: String, shards: Int, proposers: Int, seconds: Double, lmdb: Bool) async throws {
        let cluster = try startCluster(root: root, shards: shards, lmdb: lmdb)
        defer { cluster.stop() }
        let leaders = try await waitForLeaders(cluster, shards: shards)
        let value = [UInt8](repeating: 0x61, count: 16)
        let deadline = Date().addingTimeInterval(seconds)
        let started = Date()
        let latencies = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for proposer in 0..<proposers {
                group.addTask {
                    var samples: [Double] = []
                    var errors = 0
                    var counter = 0
                    let shard = proposer % shards
                    let leader = leaders[shard]
                    while Date() < deadline {
                        counter += 1
                        let key = Array("p\(proposer)-\(counter % 1000)".utf8)
                        let begin = DispatchTime.now().uptimeNanoseconds
                        let result = await leader.propose(ShardID(UInt64(shard + 1)), .put(key: key, value: value))
                        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6
                        if case .success = result { samples.append(elapsed) } else { errors += 1 }
                    }
                    return (samples, errors)
                }
            }
            var all: [Double] = []
            var errors = 0
            for try await (samples, failed) in group {
                all.append(contentsOf: samples)
                errors += failed
            }
            return (all.sorted(), errors)
        }
        let elapsed = Date().timeIntervalSince(started)
        let sorted = latencies.0
        func percentile(_ fraction: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
        }
        print("store=\(lmdb ? "lmdb" : "memory") shards=\(shards) proposers=\(proposers) proposals=\(sorted.count) errors=\(latencies.1)")
        print(String(format: "proposals/s=%.0f p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f", Double(sorted.count) / elapsed,
                     percentile(0.5), percentile(0.99), percentile(0.999)))
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return kilobytes / 1024
    }

    static func idle(root: String, shards: Int, seconds: Double) async throws {
        let baseline = residentMegabytes()
        let cluster = try startCluster(root: root, shards: shards, lmdb: true) { $0.quiesceAfterTicks = 40 }
        defer { cluster.stop() }
        _ = try await waitForLeaders(cluster, shards: shards)
        // Let every shard fall quiet (quiesceAfterTicks ticks of 50 ms, and some).
        try await Task.sleep(nanoseconds: 4_000_000_000)
        let cpuBefore = cpuSeconds()
        let wallBefore = Date()
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        let cpu = cpuSeconds() - cpuBefore
        let wall = Date().timeIntervalSince(wallBefore)
        print(String(format: "idle shards=%d hosts=3 cpu=%.1f%% of one core rss=%.0f MB (%.0f MB above an empty process)",
                     shards, 100 * cpu / wall, residentMegabytes(), residentMegabytes() - baseline))
    }

    /// Round trips of requests relayed between two hosts' transports (no Raft behind them).
    static func forward(root: String, concurrency: Int) async throws {
        let first = TCPTransport(configuration: TCPTransportConfiguration(nodeID: ReplicaID(1), clusterID: 1, listenHost: "127.0.0.1", listenPort: 0, snapshotReceiveDirectory: root + "/a"))
        let second = TCPTransport(configuration: TCPTransportConfiguration(nodeID: ReplicaID(2), clusterID: 1, listenHost: "127.0.0.1", listenPort: 0, snapshotReceiveDirectory: root + "/b"))
        try first.start()
        try second.start()
        defer {
            first.shutdown()
            second.shutdown()
        }
        first.setAddress("127.0.0.1:\(second.boundPort!)", for: ReplicaID(2))
        second.setForwardHandler { $0 }
        let started = Date()
        let deadline = started.addingTimeInterval(5)
        let count = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var done = 0
                    while Date() < deadline {
                        _ = try await first.forward(to: ReplicaID(2), payload: [1, 2, 3])
                        done += 1
                    }
                    return done
                }
            }
            var total = 0
            for try await done in group { total += done }
            return total
        }
        print(String(format: "forwards/s=%.0f concurrency=%d", Double(count) / Date().timeIntervalSince(started), concurrency))
    }

    static func snapshot(root: String, megabytes: Int) throws {
        var stateMachine = KeyValueStateMachine()
        let valueBytes = 1000
        let count = megabytes * 1_000_000 / (valueBytes + 16)
        var value = [UInt8](repeating: 0x62, count: valueBytes)
        for number in 0..<count {
            value[0] = UInt8(truncatingIfNeeded: number)
            stateMachine.apply(.put(key: Array(String(format: "key-%012d", number).utf8), value: value))
        }
        let header = SnapshotFile.Header(clusterID: 1, shard: ShardID(1), shardCount: 1,
                                         metadata: SnapshotMetadata(index: LogIndex(1), term: Term(1), membership: Membership(voters: [ReplicaID(1)])))
        let file = root + "/big.flsnap"
        let writeStart = Date()
        let bytes = try SnapshotFile.write(header, stateMachine: stateMachine, to: file)
        let writeSeconds = Date().timeIntervalSince(writeStart)
        let readStart = Date()
        let loaded = try SnapshotFile.read(from: file)
        let readSeconds = Date().timeIntervalSince(readStart)
        precondition(loaded.stateMachine.count == count)
        print(String(format: "snapshot bytes=%d keys=%d save=%.0f MB/s (%.1f s) restore=%.0f MB/s (%.1f s)",
                     bytes, count, Double(bytes) / 1e6 / writeSeconds, writeSeconds, Double(bytes) / 1e6 / readSeconds, readSeconds))
    }
}
