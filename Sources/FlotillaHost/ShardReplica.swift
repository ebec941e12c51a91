import FlotillaRaft

/// One shard's replica on this host, confined to the step worker that owns the shard: the Raft
/// core, the durable log view, the key-value state machine, and the requests waiting on it.
final class ShardReplica {
    struct PendingProposal {
        var term: Term
        var deadline: UInt64
        var continuation: HostContinuation
        var isMembershipChange: Bool
    }

    struct PendingRead {
        var query: KeyValueQuery
        var deadline: UInt64
        var continuation: HostContinuation
    }

    struct PendingTransfer {
        var target: ReplicaID
        var deadline: UInt64
        var continuation: HostContinuation
    }

    let shard: ShardID
    var node: RaftNode
    let log: ReplicaLogView
    var stateMachine = KeyValueStateMachine()
    var pendingProposals: [LogIndex: PendingProposal] = [:]
    var pendingReads: [ReadRequestID: PendingRead] = [:]
    var confirmedReads: [ReadState] = []
    var pendingTransfers: [PendingTransfer] = []
    /// Unique across this replica's restarts too (see `StepWorker.restoreReplica`): a leader's
    /// answer to a read the previous incarnation asked for must not match a new one.
    var nextReadID: UInt64 = 1
    var lastSnapshotIndex: LogIndex = .zero
    /// The last entry applied to `stateMachine` (ahead of the core's applied index between
    /// applying and `advance`), and its term.
    var appliedThrough: LogIndex = .zero
    var appliedTerm: Term = .zero
    /// The applied index the last state write carried: the store's state is (or will be, once
    /// the writes in flight are durable) applied through it.
    var writtenAppliedIndex: LogIndex = .zero
    /// When the last state write was taken (the host clock's milliseconds).
    var stateWrittenAtMilliseconds: UInt64 = 0
    /// The state was replaced whole (a snapshot installed, or loaded from its file at start):
    /// the next state write replaces the stored one.
    var stateReplacementPending = false
    /// A replacement over several writes under way: the rows (as of `applied`) and how many
    /// are written (see `StepWorker.takeStateWrite`).
    var stateReplacement: (rows: [StoredKeyValue], written: Int, applied: AppliedPosition, begun: Bool)?
    /// Received snapshots waiting for the core to accept them, by index.
    var receivedSnapshots: [LogIndex: (stateMachine: KeyValueStateMachine, file: String)] = [:]
    /// The hard state last submitted to the store (a change of the commit index alone is not
    /// written: see `StepWorker.needsWrite`).
    var writtenHardState = HardState()
    /// Store writes submitted for this shard and not yet durable.
    var writesInFlight = 0
    /// Votes and acknowledgements of rounds that wrote nothing, waiting for the writes in
    /// flight (they may acknowledge entries those writes hold).
    var heldMessages: [Message] = []
    /// The index of the snapshot being written or recorded, if any (one at a time).
    var snapshotInFlight: LogIndex?
    /// A snapshot whose file is durable, its record waiting for the shard's writes in flight:
    /// the store resolves the compaction's term when the record is submitted, so every entry it
    /// compacts must be in the store by then. No new write is submitted meanwhile (a round or
    /// two; under steady load there would otherwise never be none in flight).
    var snapshotAwaitingRecord: ReplicaLogUpdate?
    /// Administrative `SNAPSHOT` requests waiting for a snapshot at or past the index applied
    /// when they arrived.
    var snapshotWaiters: [(minimum: LogIndex, continuation: HostContinuation)] = []
    var ticksSinceActivity = 0
    /// The leader's expiry sweep in the log and not yet applied: one at a time per shard.
    var sweep: (position: (index: LogIndex, term: Term), keys: [[UInt8]], deadline: UInt64)?
    /// Quiesced at the last tick; stays so until activity resets `ticksSinceActivity`.
    var isQuiet = false
    /// The last log index present when the replica was started: membership changes at or
    /// below it are replayed, not new, and are logged at debug.
    var replayedThrough: LogIndex = .zero
    /// The role last announced as an event (to tell "lost leadership" from other changes).
    var announcedRole: RaftRole = .follower

    init(shard: ShardID, node: RaftNode, log: ReplicaLogView) {
        self.shard = shard
        self.node = node
        self.log = log
    }

    /// Records a proposal waiting at `index`. One already waiting there was proposed in an
    /// earlier term, when this replica led before, and its entry has since been replaced in
    /// this log (a new leader's log overwrote it): it is answered `timeout` now, since another
    /// replica may still hold it and a later leader commit it. Overwriting it silently left
    /// its client unanswered for good (found by the host simulator, seed 2351: a leader that
    /// lost its term and won a later one proposed at the same index).
    func addPendingProposal(_ proposal: PendingProposal, at index: LogIndex) {
        if let replaced = pendingProposals.updateValue(proposal, forKey: index) {
            replaced.continuation.resume(returning: .failure(.timeout))
        }
    }

    /// Keeps the read states a leader confirmed, for the reads still waiting here only: an
    /// answer to a read that is no longer waiting (answered, failed, or asked for by this
    /// replica before it restarted) is dropped, never kept to answer a later read with the
    /// same id from an older read index (found by the host simulator, seed 1244: a follower
    /// restarted, a late answer to its previous incarnation's read 1 waited for the snapshot
    /// it was installing, and then answered its new read 1 with a stale value).
    func confirm(_ states: [ReadState]) {
        for state in states {
            if state.requests.allSatisfy({ pendingReads[$0] != nil }) {
                confirmedReads.append(state)
                continue
            }
            let waiting = state.requests.filter { pendingReads[$0] != nil }
            if !waiting.isEmpty { confirmedReads.append(ReadState(index: state.index, requests: waiting)) }
        }
    }

    func noteActivity() {
        ticksSinceActivity = 0
        isQuiet = false
    }

    var pendingCount: Int { pendingProposals.count + pendingReads.count + pendingTransfers.count }

    /// Whether the state changed since the last state write.
    var hasUnwrittenState: Bool {
        stateReplacementPending || stateReplacement != nil || !stateMachine.changedKeys.isEmpty || appliedThrough > writtenAppliedIndex
    }

    var status: ShardStatus {
        ShardStatus(shard: shard, replica: node.id, role: node.role, leader: node.leader, term: node.term,
                    commit: node.commitIndex, applied: node.appliedIndex, last: node.lastIndex,
                    snapshot: log.snapshot.index, membership: node.membership, keys: stateMachine.count, quiet: isQuiet,
                    lagEntries: lagEntries)
    }

    /// On a leader, each other member's distance from the leader's last index; empty elsewhere.
    var lagEntries: [ReplicaID: UInt64] {
        guard node.role == .leader else { return [:] }
        let last = node.lastIndex.rawValue
        return node.followerProgress.mapValues { last > $0.match.rawValue ? last - $0.match.rawValue : 0 }
    }

    /// Fails every waiting request (shutdown, or the replica left the shard). A waiting proposal
    /// is in the log already, and a later leader may still commit it: its outcome is unknown,
    /// so it is failed with `timeout` whatever the reason, never with an error that promises
    /// "not applied" (a client would retry it and apply it twice).
    func failAll(_ error: NodeHostError) {
        for pending in pendingProposals.values { pending.continuation.resume(returning: .failure(.timeout)) }
        for pending in pendingReads.values { pending.continuation.resume(returning: .failure(error)) }
        for pending in pendingTransfers { pending.continuation.resume(returning: .failure(error)) }
        for waiter in snapshotWaiters { waiter.continuation.resume(returning: .failure(error)) }
        pendingProposals = [:]
        pendingReads = [:]
        pendingTransfers = []
        confirmedReads = []
        snapshotWaiters = []
    }
}
