/// The knobs of one replica. Times are in ticks: the caller decides how long a tick is.
public struct RaftConfiguration: Sendable, Equatable {
    public var replica: ReplicaID
    /// A follower that hears nothing from a leader for a randomized time in
    /// `[electionTimeoutTicks, 2 * electionTimeoutTicks)` starts an election.
    public var electionTimeoutTicks: Int = 10
    public var heartbeatIntervalTicks: Int = 1
    /// Ask for pre-votes before campaigning, so that a rejoining replica cannot depose a healthy
    /// leader by bumping the term (thesis 9.6).
    public var preVote: Bool = true
    /// A leader that has not heard from a quorum within an election timeout steps down; a
    /// follower that heard from a leader within one ignores vote requests (thesis 6.2 and 4.2.3).
    public var checkQuorum: Bool = true
    /// Limits on what a leader has in flight to one follower before it waits for acknowledgements.
    public var inflightMessagesMax: Int = 256
    public var inflightBytesMax: Int = 32 << 20
    /// Entries per append message are capped at this many bytes (at least one entry is sent).
    public var messageBytesMax: Int = 1 << 20
    /// Proposals are refused with `busy` while a leader has this many bytes appended but not yet
    /// committed.
    public var uncommittedBytesMax: Int = 64 << 20
    /// Reads waiting for confirmation beyond this are refused with `busy`.
    public var pendingReadsMax: Int = 65_536
    /// Committed entries handed to the application per `ready()` are capped at this many bytes.
    public var applyBytesMax: Int = 16 << 20
    /// An observer may be promoted only when its durable log is at most this many entries behind
    /// the leader's commit index and it answered the leader within the last election timeout.
    public var promotionLagEntriesMax: UInt64 = 64
    /// Seeds the election-timeout jitter.
    public var randomSeed: UInt64 = 0

    public init(replica: ReplicaID) {
        self.replica = replica
        self.randomSeed = replica.rawValue &* 0x9E37_79B9_7F4A_7C15
    }
}
