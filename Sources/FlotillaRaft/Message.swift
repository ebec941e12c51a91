/// A message between two replicas of one shard. Every message carries the sender's term; the
/// receiver's reaction to a higher or lower term is the same for all kinds (Raft paper, 5.1).
public struct Message: Sendable, Equatable {
    public var from: ReplicaID
    public var to: ReplicaID
    public var term: Term
    public var kind: MessageKind

    public init(from: ReplicaID, to: ReplicaID, term: Term, kind: MessageKind) {
        self.from = from
        self.to = to
        self.term = term
        self.kind = kind
    }
}

/// An identifier a caller attaches to a linearizable read; the core hands it back with the index
/// the read must wait for. Unique per replica that asked.
public struct ReadRequestID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (left: ReadRequestID, right: ReadRequestID) -> Bool { left.rawValue < right.rawValue }
    public var description: String { String(rawValue) }
}

public enum MessageKind: Sendable, Equatable {
    /// Leader to follower: entries after (previousIndex, previousTerm), and the leader's commit.
    case append(Append)
    case appendResponse(AppendResponse)
    /// A (pre-)candidate asking for a vote. A pre-vote carries the term the sender would campaign
    /// in without having moved to it (Raft thesis, 9.6).
    case voteRequest(VoteRequest)
    case voteResponse(VoteResponse)
    /// Leader to follower: "I am alive", the commit index the follower may safely adopt, and the
    /// read round being confirmed (ReadIndex, thesis 6.4).
    case heartbeat(Heartbeat)
    case heartbeatResponse(HeartbeatResponse)
    /// Leader to follower: install the snapshot described here. The host attaches the data.
    case installSnapshot(SnapshotMetadata)
    /// Leader to the target of a leadership transfer: campaign now (thesis 3.10).
    case timeoutNow
    /// Follower or observer to leader: confirm leadership and tell me the read index for these.
    case readIndexRequest([ReadRequestID])
    /// Leader to follower or observer: these reads may be served once you have applied `index`.
    case readIndexResponse(ReadIndexResponse)

    public struct Append: Sendable, Equatable {
        public var previousIndex: LogIndex
        public var previousTerm: Term
        public var entries: [Entry]
        public var commit: LogIndex
        public init(previousIndex: LogIndex, previousTerm: Term, entries: [Entry], commit: LogIndex) {
            self.previousIndex = previousIndex
            self.previousTerm = previousTerm
            self.entries = entries
            self.commit = commit
        }
    }

    public struct AppendResponse: Sendable, Equatable {
        /// On success, the follower's last index known to match the leader's log. On rejection,
        /// the previous index that did not match.
        public var index: LogIndex
        public var rejected: Bool
        /// On rejection: a guess at where the logs last agree (fast backtracking, thesis 5.3 and
        /// etcd's conflict-by-term search), the follower's index and its term there.
        public var hintIndex: LogIndex
        public var hintTerm: Term
        public init(index: LogIndex, rejected: Bool = false, hintIndex: LogIndex = .zero, hintTerm: Term = .zero) {
            self.index = index
            self.rejected = rejected
            self.hintIndex = hintIndex
            self.hintTerm = hintTerm
        }
    }

    public struct VoteRequest: Sendable, Equatable {
        public var lastIndex: LogIndex
        public var lastTerm: Term
        public var isPreVote: Bool
        /// Set when campaigning because the leader asked (TimeoutNow): voters then set aside their
        /// leader lease, which would otherwise make them ignore the request.
        public var isLeadershipTransfer: Bool
        public init(lastIndex: LogIndex, lastTerm: Term, isPreVote: Bool, isLeadershipTransfer: Bool) {
            self.lastIndex = lastIndex
            self.lastTerm = lastTerm
            self.isPreVote = isPreVote
            self.isLeadershipTransfer = isLeadershipTransfer
        }
    }

    public struct VoteResponse: Sendable, Equatable {
        public var granted: Bool
        public var isPreVote: Bool
        public init(granted: Bool, isPreVote: Bool) {
            self.granted = granted
            self.isPreVote = isPreVote
        }
    }

    public struct Heartbeat: Sendable, Equatable {
        public var commit: LogIndex
        public var readRound: UInt64
        public init(commit: LogIndex, readRound: UInt64) {
            self.commit = commit
            self.readRound = readRound
        }
    }

    public struct HeartbeatResponse: Sendable, Equatable {
        public var readRound: UInt64
        public init(readRound: UInt64) { self.readRound = readRound }
    }

    public struct ReadIndexResponse: Sendable, Equatable {
        public var requests: [ReadRequestID]
        public var index: LogIndex
        public init(requests: [ReadRequestID], index: LogIndex) {
            self.requests = requests
            self.index = index
        }
    }
}

extension Message {
    /// A rough size for byte limits on queues and links.
    public var sizeBytes: Int {
        switch kind {
        case .append(let append): return 48 + append.entries.reduce(0) { $0 + $1.sizeBytes }
        case .readIndexRequest(let requests): return 32 + 8 * requests.count
        case .readIndexResponse(let response): return 40 + 8 * response.requests.count
        case .installSnapshot(let metadata): return 64 + 24 * metadata.membership.members.count
        default: return 48
        }
    }
}
