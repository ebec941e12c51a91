extension RaftNode {
    /// Whether `ready()` would return anything.
    public var hasReady: Bool {
        if readyOutstanding { return false }
        if !messages.isEmpty || !messagesAfterPersist.isEmpty || !readStates.isEmpty || !failedReads.isEmpty {
            return true
        }
        if log.unstableSnapshot != nil || log.hasUnhandedEntries || log.committed > log.applied { return true }
        if HardState(term: term, vote: vote, commit: log.committed) != lastHandedHardState { return true }
        if needsBroadcastAppend || !readsToForward.isEmpty { return true }
        if state == .leader && !readsAwaitingRound.isEmpty { return true }
        return Ready.RoleChange(role: role, leader: leader, term: term) != lastRoleChange
    }

    /// Collects what the caller must persist, send and apply. Only one `Ready` may be
    /// outstanding: call `advance(_:)` (or `handOff(_:)`) before the next.
    public mutating func ready() -> Ready {
        precondition(!readyOutstanding, "ready() called before advance() of the previous Ready")
        if state == .leader {
            startReadRound()
            if needsBroadcastAppend {
                needsBroadcastAppend = false
                broadcastAppend()
            }
        } else if !readsToForward.isEmpty {
            if leader != .none {
                send(Message(from: id, to: leader, term: term, kind: .readIndexRequest(readsToForward)))
            } else {
                failedReads.append(contentsOf: readsToForward)
            }
            readsToForward = []
        }
        var ready = Ready()
        let hardState = HardState(term: term, vote: vote, commit: log.committed)
        if hardState != lastHandedHardState {
            ready.hardState = hardState
            lastHandedHardState = hardState
        }
        ready.snapshot = log.unstableSnapshot
        ready.entries = Array(log.unhandedEntries)
        if let last = ready.entries.last { log.handedThrough = last.index }
        if log.unstableSnapshot == nil && log.committed > log.applied {
            ready.committedEntries = log.entries(
                from: log.applied.next, through: log.committed, bytesMax: configuration.applyBytesMax) ?? []
        }
        ready.messages = messages
        ready.messagesAfterPersist = messagesAfterPersist
        ready.readStates = readStates
        ready.failedReads = failedReads
        messages = []
        messagesAfterPersist = []
        readStates = []
        failedReads = []
        let roleChange = Ready.RoleChange(role: role, leader: leader, term: term)
        if roleChange != lastRoleChange {
            ready.roleChange = roleChange
            lastRoleChange = roleChange
        }
        readyOutstanding = true
        return ready
    }

    /// The caller has persisted `ready`, sent its messages and applied its committed entries.
    public mutating func advance(_ ready: Ready) {
        precondition(readyOutstanding, "advance() without an outstanding Ready")
        readyOutstanding = false
        if let metadata = ready.snapshot {
            log.markSnapshotStable(metadata)
            if metadata.index > log.applied { log.applied = metadata.index }
        }
        markPersisted(ready)
        markApplied(ready)
        if state == .leader && maybeCommit() {
            needsBroadcastAppend = true
        }
    }

    /// The caller has sent `ready`'s early messages, applied its committed entries and
    /// *submitted* its entries and hard state for writing, but they are not durable yet. The
    /// next `ready()` may be taken at once: a caller with a slow disk keeps stepping,
    /// replicating and applying while the write is in flight (thesis 10.2.1 lets a leader
    /// write its log in parallel with replication; this extends it to every replica, as
    /// etcd's asynchronous storage writes do). Call `persisted(_:)` once it is durable, in the
    /// order the writes were handed off. Until then nothing durable is assumed: the leader
    /// does not count its own copy toward a commit, and the `messagesAfterPersist` of this
    /// and every later `Ready` (acknowledgements, votes) must wait for this write. A `Ready`
    /// that installs a snapshot is not handed off: persist it, then `advance(_:)`.
    public mutating func handOff(_ ready: Ready) {
        precondition(readyOutstanding, "handOff() without an outstanding Ready")
        precondition(ready.snapshot == nil, "a Ready that installs a snapshot is persisted, then advanced")
        readyOutstanding = false
        markApplied(ready)
        if state == .leader && maybeCommit() {
            needsBroadcastAppend = true
        }
    }

    /// A `Ready` handed off earlier is durable now.
    public mutating func persisted(_ ready: Ready) {
        markPersisted(ready)
        if state == .leader && maybeCommit() {
            needsBroadcastAppend = true
        }
    }

    private mutating func markPersisted(_ ready: Ready) {
        if let last = ready.entries.last {
            log.markStable(through: last.index, term: last.term)
        }
        if let hardState = ready.hardState {
            persistedTerm = hardState.term
        }
    }

    private mutating func markApplied(_ ready: Ready) {
        for entry in ready.committedEntries {
            guard entry.index > log.applied else { continue }
            if case .membershipChange(let change) = entry.payload {
                applyMembershipChange(change, at: entry.index)
            }
            log.applied = entry.index
        }
    }

    /// Where the caller may take the next snapshot: everything applied is captured by it.
    public mutating func compactionAllowed(through index: LogIndex) -> Bool { index <= log.applied }
}
