import FlotillaRaft

/// The `PLACEMENT` answer: how many replicas (voters and observers) and leaders each host has,
/// counted from what the shards report of themselves, not from the placement rule, so that it
/// shows the cluster as it is (after membership changes, with a host down) and a rebalance can
/// be judged by it.
///
/// As a line: `hosts=<n> replicas=<R> moves_pending=<n>` then, per host in node id order,
/// ` <node>:replicas=<n>,leaders=<n>`.
public struct PlacementReport: Sendable, Equatable {
    public struct HostLoad: Sendable, Equatable {
        public var replicas: Int
        public var leaders: Int

        public init(replicas: Int = 0, leaders: Int = 0) {
            self.replicas = replicas
            self.leaders = leaders
        }
    }

    /// Voters per shard the cluster was created with.
    public var replicaCount: Int
    /// Replica moves started and not finished.
    public var movesPending: Int
    /// Every host of the cluster, those holding nothing included.
    public var hosts: [ReplicaID: HostLoad]

    public init(hosts: some Sequence<ReplicaID>, replicaCount: Int, movesPending: Int = 0) {
        self.replicaCount = replicaCount
        self.movesPending = movesPending
        self.hosts = Dictionary(hosts.map { ($0, HostLoad()) }, uniquingKeysWith: { first, _ in first })
    }

    /// Counts one shard: each member holds a replica, the leader (none: `.none`) leads it. A
    /// member not yet in the host list joins it.
    public mutating func count(voters: [ReplicaID], observers: [ReplicaID], leader: ReplicaID) {
        for member in Set(voters).union(observers) { hosts[member, default: HostLoad()].replicas += 1 }
        if leader != .none { hosts[leader, default: HostLoad()].leaders += 1 }
    }

    public var totalReplicas: Int { hosts.values.reduce(0) { $0 + $1.replicas } }

    public var line: String {
        var text = "hosts=\(hosts.count) replicas=\(replicaCount) moves_pending=\(movesPending)"
        for node in hosts.keys.sorted() {
            text += " \(node):replicas=\(hosts[node]!.replicas),leaders=\(hosts[node]!.leaders)"
        }
        return text
    }

    /// Reads a `PLACEMENT` line back (tools, tests); nil when it is not one.
    public init?(line: String) {
        let tokens = line.split(separator: " ")
        guard tokens.count >= 3 else { return nil }
        func value(_ token: Substring, _ name: String) -> Int? {
            guard token.hasPrefix(name + "=") else { return nil }
            return Int(token.dropFirst(name.count + 1))
        }
        guard let hostCount = value(tokens[0], "hosts"), let replicaCount = value(tokens[1], "replicas"),
              let movesPending = value(tokens[2], "moves_pending") else { return nil }
        var hosts: [ReplicaID: HostLoad] = [:]
        for token in tokens.dropFirst(3) {
            let parts = token.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let node = UInt64(parts[0]) else { return nil }
            let counts = parts[1].split(separator: ",")
            guard counts.count == 2, let replicas = value(counts[0], "replicas"), let leaders = value(counts[1], "leaders") else { return nil }
            hosts[ReplicaID(node)] = HostLoad(replicas: replicas, leaders: leaders)
        }
        guard hosts.count == hostCount else { return nil }
        self.replicaCount = replicaCount
        self.movesPending = movesPending
        self.hosts = hosts
    }
}
