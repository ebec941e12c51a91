import FlotillaServer

/// `flotilla status`: every replica of every shard in one table, from `STATUS` lines. Pure: the
/// command gathers the lines over the line protocol, this turns them into rows and text.
public struct ClusterStatusTable: Sendable, Equatable {
    /// What one shard looked like: the answer of the host asked (`STATUS <shard>`, which names
    /// the members), and each member's own answer (`STATUS <shard> <node>`), or why none came.
    public struct ShardAnswers: Sendable, Equatable {
        public var shard: UInt64
        public var overview: Answer
        public var replicas: [(node: UInt64, answer: Answer)]

        public init(shard: UInt64, overview: Answer, replicas: [(node: UInt64, answer: Answer)]) {
            self.shard = shard
            self.overview = overview
            self.replicas = replicas
        }

        public static func == (left: ShardAnswers, right: ShardAnswers) -> Bool {
            left.shard == right.shard && left.overview == right.overview
                && left.replicas.map(\.node) == right.replicas.map(\.node) && left.replicas.map(\.answer) == right.replicas.map(\.answer)
        }
    }

    public enum Answer: Sendable, Equatable {
        /// The `name=value` pairs of a `STATUS` line.
        case fields([String: String])
        /// An `ERR` line, or no answer.
        case failed(String)

        public init(line: String?) {
            guard let line else { self = .failed("no answer"); return }
            if line.hasPrefix("ERR") { self = .failed(line); return }
            self = .fields(Self.parse(line))
        }

        public static func parse(_ line: String) -> [String: String] { StatusLine.fields(line) }

        public var fields: [String: String]? {
            if case .fields(let fields) = self { return fields }
            return nil
        }
    }

    public struct Row: Sendable, Equatable {
        public var shard: String
        public var replica: String
        public var role: String
        public var leader: String
        public var term: String
        public var commit: String
        public var applied: String
        public var lag: String
        public var quiet: String

        var cells: [String] { [shard, replica, role, leader, term, commit, applied, lag, quiet] }
    }

    public static let header = ["SHARD", "REPLICA", "ROLE", "LEADER", "TERM", "COMMIT", "APPLIED", "LAG", "QUIET"]

    public var rows: [Row] = []
    /// Shards no replica reports a leader for (unreachable ones included), in order.
    public var shardsWithoutLeader: [UInt64] = []

    /// The members of a shard, voters then observers, from its `STATUS` line.
    public static func members(of fields: [String: String]) -> [UInt64] {
        let voters = StatusLine.nodes(fields["voters"])
        let observers = StatusLine.nodes(fields["observers"])
        return voters + observers.filter { !voters.contains($0) }
    }

    public init(shards: [ShardAnswers]) {
        for shard in shards {
            let overview = shard.overview.fields
            let knownLeaders = ([overview] + shard.replicas.map(\.answer.fields)).compactMap { $0?["leader"] }.filter { $0 != "0" }
            // The leader's own line carries everyone's lag (its replication progress).
            var lag: [String: String] = [:]
            let leaderLine = shard.replicas.compactMap(\.answer.fields).first { $0["role"] == "leader" }
                ?? (overview?["role"] == "leader" ? overview : nil)
            if let leaderLine {
                for pair in (leaderLine["lag"] ?? "").split(separator: ",") {
                    let parts = pair.split(separator: ":")
                    if parts.count == 2 { lag[String(parts[0])] = String(parts[1]) }
                }
                if let replica = leaderLine["replica"] { lag[replica] = "0" }
            }
            if knownLeaders.isEmpty || leaderLine == nil { shardsWithoutLeader.append(shard.shard) }
            if case .failed(let reason) = shard.overview, shard.replicas.isEmpty {
                rows.append(Row(shard: "\(shard.shard)", replica: "-", role: "unreachable", leader: "-", term: "-", commit: "-",
                                applied: "-", lag: "-", quiet: Self.brief(reason)))
                continue
            }
            for (node, answer) in shard.replicas {
                switch answer {
                case .fields(let fields):
                    rows.append(Row(shard: "\(shard.shard)", replica: "\(node)", role: fields["role"] ?? "?",
                                    leader: fields["leader"] ?? "?", term: fields["term"] ?? "?",
                                    commit: fields["commit"] ?? "?", applied: fields["applied"] ?? "?",
                                    lag: lag["\(node)"] ?? "-", quiet: fields["quiet"] ?? "?"))
                case .failed(let reason):
                    rows.append(Row(shard: "\(shard.shard)", replica: "\(node)", role: "unreachable", leader: "-", term: "-",
                                    commit: "-", applied: "-", lag: lag["\(node)"] ?? "-", quiet: Self.brief(reason)))
                }
            }
        }
    }

    /// An error shortened to its code, to keep the table narrow.
    static func brief(_ reason: String) -> String {
        let words = reason.split(separator: " ")
        return words.count >= 2 && words[0] == "ERR" ? String(words[1]) : reason
    }

    /// The table as text: a header, a rule, one line per replica; columns padded to the widest
    /// cell, like `etcdctl endpoint status -w table`.
    public func rendered() -> String {
        let lines = [Self.header] + rows.map(\.cells)
        var widths = Array(repeating: 0, count: Self.header.count)
        for line in lines {
            for (column, cell) in line.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func format(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { column, cell in cell + String(repeating: " ", count: widths[column] - cell.count) }
                .joined(separator: " | ") + " |"
        }
        let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+"
        var text = rule + "\n" + format(Self.header) + "\n" + rule + "\n"
        for row in rows { text += format(row.cells) + "\n" }
        return text + rule + "\n"
    }
}
