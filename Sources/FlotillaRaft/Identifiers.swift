/// Distinct types for the numbers Raft juggles, so that a term can never be passed where an
/// index is expected. All are plain 64-bit values on the wire and on disk.

/// A Raft group: one shard of the key space. Shards are numbered `1...K`.
public struct ShardID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (left: ShardID, right: ShardID) -> Bool { left.rawValue < right.rawValue }
    public var description: String { String(rawValue) }
}

/// A member of a shard. In Flotilla a replica's id is its host's node id; zero means "none".
public struct ReplicaID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static let none = ReplicaID(0)
    public static func < (left: ReplicaID, right: ReplicaID) -> Bool { left.rawValue < right.rawValue }
    public var description: String { String(rawValue) }
}

/// A Raft term (election epoch). Zero is the term before any election.
public struct Term: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static let zero = Term(0)
    public static func < (left: Term, right: Term) -> Bool { left.rawValue < right.rawValue }
    public var next: Term { Term(rawValue + 1) }
    public var description: String { String(rawValue) }
}

/// A position in a replica's log. Index 0 is the empty prefix; the first entry is index 1.
public struct LogIndex: RawRepresentable, Hashable, Comparable, Strideable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static let zero = LogIndex(0)
    public static func < (left: LogIndex, right: LogIndex) -> Bool { left.rawValue < right.rawValue }
    public func distance(to other: LogIndex) -> Int64 { Int64(bitPattern: other.rawValue &- rawValue) }
    public func advanced(by amount: Int64) -> LogIndex { LogIndex(UInt64(bitPattern: Int64(bitPattern: rawValue) &+ amount)) }
    public var next: LogIndex { LogIndex(rawValue + 1) }
    public var previous: LogIndex { LogIndex(rawValue == 0 ? 0 : rawValue - 1) }
    public var description: String { String(rawValue) }
}
