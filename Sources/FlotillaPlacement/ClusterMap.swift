import FlotillaRaft

/// The cluster's host list and the replica moves in progress: one value, kept in the meta
/// shard and changed only by compare-and-set, so that every change (a host added, a move
/// recorded or advanced) is atomic, ordered, and survives any host's crash.
///
/// As text, one item a line: `replicas <R>`, then `host <node> <raft-addr> <state>` per host
/// in node id order, then `move <shard> <from> <to> <step>` per move in the order they run (0
/// for a side that is none). Text keeps the value readable in a snapshot file or a debugger.
public struct ClusterMap: Sendable, Equatable {
    /// Voters per shard the cluster keeps.
    public var replicaCount: Int
    public var hosts: [ReplicaID: ClusterHost]
    /// Moves not finished, first to run first.
    public var moves: [ReplicaMove]

    public init(replicaCount: Int, hosts: [ReplicaID: ClusterHost] = [:], moves: [ReplicaMove] = []) {
        self.replicaCount = replicaCount
        self.hosts = hosts
        self.moves = moves
    }

    /// The hosts that take replicas, in node id order.
    public var activeHosts: [ReplicaID] { hosts.keys.filter { hosts[$0]!.state == .active }.sorted() }

    /// Every host not removed, in node id order: those `PLACEMENT` lists.
    public var listedHosts: [ReplicaID] { hosts.keys.filter { hosts[$0]!.state != .removed }.sorted() }

    /// The host lines of `text` alone: what changes when the host list does (a host added,
    /// draining, removed), and not when a move advances.
    public var hostsText: String {
        hosts.keys.sorted().map { "host \($0) \(hosts[$0]!.address) \(hosts[$0]!.state.rawValue)" }.joined(separator: "\n")
    }

    public var text: String {
        var lines = ["replicas \(replicaCount)"]
        for node in hosts.keys.sorted() {
            lines.append("host \(node) \(hosts[node]!.address) \(hosts[node]!.state.rawValue)")
        }
        for move in moves {
            lines.append("move \(move.shard) \(move.from) \(move.to) \(move.step.rawValue)")
        }
        return lines.joined(separator: "\n")
    }

    /// Reads the text form back; nil when it is not one.
    public init?(text: String) {
        var replicaCount: Int?
        var hosts: [ReplicaID: ClusterHost] = [:]
        var moves: [ReplicaMove] = []
        for line in text.split(separator: "\n") {
            let tokens = line.split(separator: " ").map(String.init)
            switch tokens.first {
            case "replicas":
                guard tokens.count == 2, let count = Int(tokens[1]) else { return nil }
                replicaCount = count
            case "host":
                guard tokens.count == 4, let node = UInt64(tokens[1]), let state = HostState(rawValue: tokens[3]) else { return nil }
                hosts[ReplicaID(node)] = ClusterHost(address: tokens[2], state: state)
            case "move":
                guard tokens.count == 5, let shard = UInt64(tokens[1]), let from = UInt64(tokens[2]), let to = UInt64(tokens[3]),
                      let step = MoveStep(rawValue: tokens[4]) else { return nil }
                moves.append(ReplicaMove(shard: ShardID(shard), from: ReplicaID(from), to: ReplicaID(to), step: step))
            default:
                return nil
            }
        }
        guard let replicaCount else { return nil }
        self.init(replicaCount: replicaCount, hosts: hosts, moves: moves)
    }
}
