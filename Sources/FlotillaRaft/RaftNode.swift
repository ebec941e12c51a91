/// One replica's Raft state machine. Pure: no I/O, no clock, no global randomness. The caller
/// feeds it ticks (`tick()`), messages (`step(_:)`), proposals and reads, takes a `Ready`
/// describing what to persist, send and apply, and calls `advance(_:)` once that is done.
///
/// Deviations from the Raft paper and thesis, each deliberate:
/// - Quorums (elections, votes, commit, CheckQuorum, ReadIndex) use the latest configuration in
///   the log, as the thesis does; the *applied* configuration (`membership`) is what snapshots,
///   addresses and status show, and a removal takes a replica out when applied. Only one change
///   may be pending (until applied), and a leader changes nothing before its term's first entry
///   is applied.
/// - A shard's log begins with one membership entry per initial member (indexes `1...n`, term 1).
/// - A voter whose log holds an unapplied removal of itself still campaigns (thesis 4.2.2),
///   counting only the voters of its latest configuration, not itself; this is the thesis'
///   rule, stated here because the observer extension otherwise ties campaigning to being a
///   voter in the latest configuration.
/// - Observers (non-voting members) are an extension; they never campaign and never count in
///   their own quorums, but a replica grants a vote or pre-vote to an eligible candidate even
///   when its own log says it is an observer (it may have been promoted without knowing yet;
///   see `handleVoteRequest`). Candidates ask, and count, only the voters of their own latest
///   configuration.
/// - Commit notifications to followers ride on the next append or heartbeat, and a heartbeat
///   carries `min(follower match, commit)` so a follower never commits past what it holds.
/// - Every append, heartbeat, snapshot offer and read confirmation from a leader leaves before
///   the leader's own write is durable (thesis 10.2.1); a leader counts itself toward commit
///   only for entries the caller reported durable.
public struct RaftNode {
    enum State { case follower, preCandidate, candidate, leader }

    struct PendingRead {
        var origin: ReplicaID
        var request: ReadRequestID
    }

    struct ReadRound {
        var number: UInt64
        var index: LogIndex
        var reads: [PendingRead]
        var acknowledgements: Set<ReplicaID>
    }

    public let configuration: RaftConfiguration
    var log: RaftLog
    public internal(set) var term: Term
    public internal(set) var vote: ReplicaID
    /// The leader this replica currently follows, or `.none`.
    public internal(set) var leader: ReplicaID = .none
    var state: State = .follower
    /// The applied membership: what the state machine, snapshots and status reports see.
    public internal(set) var membership: Membership
    /// The membership every quorum decision uses (elections, votes, commit, CheckQuorum,
    /// ReadIndex): `membership` with the changes still unapplied in the log on top, i.e. the
    /// latest configuration in the log (thesis 4.1). Using only the applied configuration is
    /// unsafe: a replica two changes behind in applying could win an election under a
    /// configuration whose majorities do not overlap the leader's (the simulator found it).
    public internal(set) var latestMembership: Membership
    /// Membership-change entries in the log above the applied index, in order.
    var unappliedMembershipChanges: [(index: LogIndex, change: MembershipChange)] = []
    /// Where each replica's removal entry sits, so a leader keeps feeding a removed replica
    /// until it knows of its removal.
    var removalIndexes: [ReplicaID: LogIndex] = [:]
    var progress: [ReplicaID: Progress] = [:]
    var votes: [ReplicaID: Bool] = [:]
    /// Ticks since the election timer was last reset (a leader's message, a vote granted):
    /// public so that a host can tell whether a follower still hears from its leader.
    public internal(set) var electionElapsedTicks = 0
    var heartbeatElapsedTicks = 0
    var randomizedElectionTimeoutTicks = 0
    var random: SeededRandom
    /// The replica a leadership transfer is handing over to.
    public internal(set) var transferTarget: ReplicaID = .none
    /// The index of the latest membership change appended by this leader; a new change is
    /// refused until it is applied.
    var pendingMembershipIndex: LogIndex = .zero
    var uncommittedProposals: [(index: LogIndex, bytes: Int)] = []
    var uncommittedBytes = 0

    var readsAwaitingCommit: [PendingRead] = []
    var readsAwaitingRound: [PendingRead] = []
    var readRounds: [ReadRound] = []
    var readRoundCounter: UInt64 = 0
    var readsToForward: [ReadRequestID] = []
    var readStates: [ReadState] = []
    var failedReads: [ReadRequestID] = []

    var messages: [Message] = []
    var messagesAfterPersist: [Message] = []
    var needsBroadcastAppend = false

    var lastHandedHardState: HardState
    /// The term the caller has made durable; a leader's messages may leave before persistence
    /// only when they carry a durable term.
    var persistedTerm: Term
    var lastRoleChange: Ready.RoleChange?
    var readyOutstanding = false

    /// Builds a replica from what its caller has durably stored: hard state, latest snapshot
    /// and log. `appliedIndex` is how far the caller's state machine already is (the snapshot
    /// index for an in-memory state machine rebuilt from its snapshot). Membership changes in
    /// the log up to `appliedIndex` are replayed, so the replica starts in the role its own
    /// data gives it: no flag at start-up decides whether it is a voter or an observer.
    public init(configuration: RaftConfiguration, storage: any RaftLogReader, appliedIndex: LogIndex = .zero) {
        self.configuration = configuration
        random = SeededRandom(seed: configuration.randomSeed)
        log = RaftLog(storage: storage, applied: appliedIndex)
        let hardState = storage.hardState
        term = hardState.term
        vote = hardState.vote
        lastHandedHardState = HardState(term: hardState.term, vote: hardState.vote, commit: log.committed)
        persistedTerm = hardState.term
        membership = storage.snapshot.membership
        latestMembership = membership
        if storage.lastIndex > storage.snapshot.index {
            let replay = storage.entries(from: storage.snapshot.index.next, through: storage.lastIndex, bytesMax: Int.max)
            for entry in replay {
                guard case .membershipChange(let change) = entry.payload else { continue }
                if entry.index <= log.applied {
                    membership.apply(change, at: entry.index)
                } else {
                    unappliedMembershipChanges.append((entry.index, change))
                }
            }
        }
        recomputeLatestMembership()
        resetElectionTimer()
        lastRoleChange = Ready.RoleChange(role: role, leader: leader, term: term)
    }

    public var id: ReplicaID { configuration.replica }

    public var role: RaftRole {
        if membership.removed.contains(id) { return .removed }
        switch state {
        case .leader: return .leader
        case .candidate: return .candidate
        case .preCandidate: return .preCandidate
        case .follower: return latestMembership.isVoter(id) ? .follower : .observer
        }
    }

    public var isLeader: Bool { state == .leader }
    public var commitIndex: LogIndex { log.committed }
    public var appliedIndex: LogIndex { log.applied }
    public var lastIndex: LogIndex { log.lastIndex }
    public var lastTerm: Term { log.lastTerm }
    public var firstIndex: LogIndex { log.firstIndex }
    public var snapshotIndex: LogIndex { log.snapshot.index }

    /// The metadata of a snapshot of the state machine as applied now: the caller takes the
    /// data at `appliedIndex` and records this alongside it.
    public var snapshotMetadataAtApplied: SnapshotMetadata {
        SnapshotMetadata(index: log.applied, term: log.term(at: log.applied) ?? .zero, membership: membership)
    }

    // MARK: - Ticks

    /// Advances the logical clock by one tick.
    public mutating func tick() {
        if state == .leader {
            tickLeader()
        } else {
            tickElection()
        }
    }

    mutating func tickElection() {
        electionElapsedTicks += 1
        if electionElapsedTicks >= randomizedElectionTimeoutTicks && canCampaign {
            campaign(preVote: configuration.preVote, leadershipTransfer: false)
        }
    }

    mutating func tickLeader() {
        heartbeatElapsedTicks += 1
        electionElapsedTicks += 1
        if electionElapsedTicks >= configuration.electionTimeoutTicks {
            electionElapsedTicks = 0
            let quorumActive = closeActivityWindow()
            if configuration.checkQuorum && !quorumActive {
                becomeFollower(term: term, leader: .none)
                return
            }
            // A transfer that has not finished within an election timeout is abandoned.
            transferTarget = .none
        }
        if heartbeatElapsedTicks >= configuration.heartbeatIntervalTicks {
            heartbeatElapsedTicks = 0
            broadcastHeartbeat(readRound: readRounds.last?.number ?? 0)
        }
    }

    /// Ends a CheckQuorum window: whether a quorum of voters was heard from in it.
    mutating func closeActivityWindow() -> Bool {
        var active = 0
        for voter in latestMembership.voters {
            if voter == id {
                active += 1
            } else if progress[voter]?.recentlyActive == true {
                active += 1
            }
        }
        for replica in progress.keys.sorted() {
            progress[replica]!.activeInPreviousWindow = progress[replica]!.recentlyActive
            progress[replica]!.recentlyActive = false
        }
        return active >= latestMembership.quorum
    }

    mutating func resetElectionTimer() {
        electionElapsedTicks = 0
        let timeout = max(configuration.electionTimeoutTicks, 1)
        randomizedElectionTimeoutTicks = timeout + Int(random.next() % UInt64(timeout))
    }

    // MARK: - Role changes

    /// A replica campaigns when the latest configuration in its log makes it a voter, or when
    /// its applied configuration does and only an unapplied removal of itself says otherwise:
    /// that removal may be uncommitted, and until it commits the replica may be the one whose
    /// log is needed to elect a leader (thesis 4.2.2: "a server that is not part of its own
    /// latest configuration should still start new elections"). Voters 1,2,3,4; leader 1
    /// appends "remove 4", which reaches only 4; 1 is lost. 2 and 3 need 4's vote under
    /// {1,2,3,4}, and 4 rightly refuses their shorter logs; only 4 can win, asking (and
    /// counting) the voters of {1,2,3}, never itself. Observers never campaign: they were
    /// never voters in their applied configuration.
    var canCampaign: Bool {
        guard !membership.removed.contains(id) else { return false }
        return latestMembership.isVoter(id) || membership.isVoter(id)
    }

    mutating func becomeFollower(term newTerm: Term, leader newLeader: ReplicaID) {
        let wasLeader = state == .leader
        if newTerm != term {
            term = newTerm
            vote = .none
        }
        state = .follower
        leader = newLeader
        resetRoleState()
        if wasLeader { failLeaderReads() }
    }

    mutating func resetRoleState() {
        resetElectionTimer()
        heartbeatElapsedTicks = 0
        votes = [:]
        transferTarget = .none
        progress = [:]
        uncommittedProposals = []
        uncommittedBytes = 0
        needsBroadcastAppend = false
    }

    mutating func becomeLeader() {
        precondition(state == .candidate, "only a candidate becomes leader")
        state = .leader
        leader = id
        resetRoleState()
        let next = log.lastIndex.next
        for member in latestMembership.members where member != id {
            progress[member] = Progress(next: next)
        }
        // No membership change until this term's first entry is applied: that commits every
        // change appended by earlier leaders, and closes the single-server-change hazard of
        // thesis 4.1 (a leader must commit in its own term before changing the configuration).
        pendingMembershipIndex = appendEntry(.empty).index
    }

    /// Starts an election: a pre-vote round first when enabled, unless the leader asked.
    mutating func campaign(preVote: Bool, leadershipTransfer: Bool) {
        let voteTerm: Term
        if preVote {
            state = .preCandidate
            leader = .none
            resetRoleState()
            voteTerm = term.next
        } else {
            let wasLeader = state == .leader
            state = .candidate
            term = term.next
            vote = id
            leader = .none
            resetRoleState()
            if wasLeader { failLeaderReads() }
            voteTerm = term
        }
        votes[id] = true
        if tallyVotes() == .won {
            if preVote {
                campaign(preVote: false, leadershipTransfer: leadershipTransfer)
            } else {
                becomeLeader()
            }
            return
        }
        let request = MessageKind.VoteRequest(
            lastIndex: log.lastIndex, lastTerm: log.lastTerm,
            isPreVote: preVote, isLeadershipTransfer: leadershipTransfer)
        for voter in latestMembership.voters where voter != id {
            send(Message(from: id, to: voter, term: voteTerm, kind: .voteRequest(request)))
        }
    }

    enum ElectionResult { case won, lost, pending }

    func tallyVotes() -> ElectionResult {
        var granted = 0
        var rejected = 0
        for voter in latestMembership.voters {
            switch votes[voter] {
            case true?: granted += 1
            case false?: rejected += 1
            case nil: break
            }
        }
        if granted >= latestMembership.quorum { return .won }
        if rejected > latestMembership.voters.count - latestMembership.quorum { return .lost }
        return .pending
    }

    // MARK: - Sending

    /// Queues a message. A leader's replication traffic leaves at once when its term is
    /// durable; everything else (votes, acknowledgements, a candidate's requests) waits until
    /// the `Ready` it came with is persisted.
    mutating func send(_ message: Message) {
        if state == .leader && term == persistedTerm {
            switch message.kind {
            case .append, .heartbeat, .installSnapshot, .timeoutNow, .readIndexResponse:
                messages.append(message)
                return
            default:
                break
            }
        }
        messagesAfterPersist.append(message)
    }
}

extension RaftNode {
    /// The term of the entry at `index` in this replica's log (durable or not), or nil when it
    /// is compacted away or beyond the end.
    public func term(at index: LogIndex) -> Term? { log.term(at: index) }
}
