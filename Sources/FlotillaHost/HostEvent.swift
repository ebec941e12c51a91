import FlotillaRaft

/// Something that happened on the host, worth one log line: an election, a membership change,
/// a snapshot sent or installed, a peer connected or lost, a failure. The host does not log
/// itself (it does not import a logging library); whoever runs it turns events into log lines
/// and keeps the metadata (`shard`, `term`, `peer`) as structured fields.
public struct HostEvent: Sendable, Equatable, CustomStringConvertible {
    /// How much an operator cares, in swift-log's order (without depending on it).
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case trace, debug, info, notice, warning, error

        public static func < (left: Level, right: Level) -> Bool { left.rawValue < right.rawValue }
    }

    public var level: Level
    public var message: String
    public var shard: ShardID?
    public var term: Term?
    public var peer: ReplicaID?

    public init(_ level: Level, _ message: String, shard: ShardID? = nil, term: Term? = nil, peer: ReplicaID? = nil) {
        self.level = level
        self.message = message
        self.shard = shard
        self.term = term
        self.peer = peer
    }

    /// The message with its metadata, for callers that print plain text (tests, tools).
    public var description: String {
        var text = message
        if let shard { text += " shard=\(shard)" }
        if let term { text += " term=\(term)" }
        if let peer { text += " peer=\(peer)" }
        return text
    }
}

/// Receives the host's events; called on whichever thread the event happened on.
public typealias HostEventSink = @Sendable (HostEvent) -> Void
