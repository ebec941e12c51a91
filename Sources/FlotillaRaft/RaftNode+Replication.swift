extension RaftNode {
    /// Sends one append to `peer` if its pacing allows; false when nothing was sent.
    @discardableResult
    mutating func sendAppend(to peer: ReplicaID, onlyWithEntries: Bool = false, evenIfEmpty: Bool = false) -> Bool {
        guard var peerProgress = progress[peer] else { return false }
        if peerProgress.isPaused(inflightMessagesMax: configuration.inflightMessagesMax,
                                 inflightBytesMax: configuration.inflightBytesMax) {
            return false
        }
        let previousIndex = peerProgress.next.previous
        guard let previousTerm = log.term(at: previousIndex),
              let entries = log.entries(from: peerProgress.next, through: log.lastIndex,
                                        bytesMax: configuration.messageBytesMax)
        else {
            return sendSnapshot(to: peer)
        }
        if entries.isEmpty {
            // An empty append is worth sending only to probe or to carry a newer commit index.
            let carriesNews = evenIfEmpty || peerProgress.state == .probe || peerProgress.commitSent < log.committed
            if onlyWithEntries || !carriesNews { return false }
        }
        let commit = log.committed
        switch peerProgress.state {
        case .replicate:
            if let last = entries.last {
                peerProgress.next = last.index.next
                peerProgress.inflight.add(lastIndex: last.index, bytes: entries.reduce(0) { $0 + $1.sizeBytes })
            }
        case .probe:
            peerProgress.probeSent = true
        case .snapshot:
            return false
        }
        peerProgress.commitSent = commit
        progress[peer] = peerProgress
        send(Message(from: id, to: peer, term: term, kind: .append(.init(
            previousIndex: previousIndex, previousTerm: previousTerm, entries: entries, commit: commit))))
        return true
    }

    /// Sends appends to `peer` until it is caught up or its in-flight window is full, so that a
    /// follower far behind is caught up in pipelined, size-capped messages.
    mutating func sendAppends(to peer: ReplicaID) {
        if !sendAppend(to: peer) { return }
        while sendAppend(to: peer, onlyWithEntries: true) {}
    }

    mutating func sendSnapshot(to peer: ReplicaID) -> Bool {
        guard var peerProgress = progress[peer] else { return false }
        let metadata = log.snapshot
        peerProgress.becomeSnapshot(metadata.index)
        progress[peer] = peerProgress
        send(Message(from: id, to: peer, term: term, kind: .installSnapshot(metadata)))
        return true
    }

    mutating func broadcastAppend() {
        for peer in progress.keys.sorted() {
            sendAppends(to: peer)
        }
    }

    mutating func broadcastHeartbeat(readRound: UInt64) {
        for peer in progress.keys.sorted() {
            let commit = min(progress[peer]!.match, log.committed)
            send(Message(from: id, to: peer, term: term,
                         kind: .heartbeat(.init(commit: commit, readRound: readRound))))
        }
    }

    /// Advances the commit index to the highest index held durably by a quorum of voters,
    /// but only when that entry is from this leader's term (paper 5.4.2, figure 8).
    @discardableResult
    mutating func maybeCommit() -> Bool {
        guard state == .leader else { return false }
        let voters = latestMembership.voters
        guard !voters.isEmpty else { return false }
        var matches: [LogIndex] = voters.map { voter in
            voter == id ? log.durableLastIndex : (progress[voter]?.match ?? .zero)
        }
        matches.sort(by: >)
        let candidate = matches[latestMembership.quorum - 1]
        guard candidate > log.committed, log.term(at: candidate) == term else { return false }
        let wasCommittedInTerm = committedInCurrentTerm
        log.commit(to: candidate)
        while let first = uncommittedProposals.first, first.index <= candidate {
            uncommittedBytes -= first.bytes
            uncommittedProposals.removeFirst()
        }
        if !wasCommittedInTerm {
            // The first commit of the term: reads held back until now may start their rounds.
            readsAwaitingRound.append(contentsOf: readsAwaitingCommit)
            readsAwaitingCommit = []
        }
        return true
    }

    var committedInCurrentTerm: Bool { log.term(at: log.committed) == term }

    @discardableResult
    mutating func appendEntry(_ payload: EntryPayload) -> Entry {
        let entry = Entry(index: log.lastIndex.next, term: term, payload: payload)
        log.append([entry])
        if case .membershipChange = payload { noteAppended([entry], from: entry.index) }
        uncommittedProposals.append((entry.index, entry.sizeBytes))
        uncommittedBytes += entry.sizeBytes
        needsBroadcastAppend = true
        // A single voter commits as soon as its own write is durable (see `advance`).
        return entry
    }

    func checkCanPropose() throws(ProposalError) {
        if membership.removed.contains(id) { throw .removed }
        guard state == .leader else { throw .notLeader(leader: leader) }
        if transferTarget != .none { throw .transferInProgress }
        if uncommittedBytes > 0 && uncommittedBytes >= configuration.uncommittedBytesMax {
            throw .busy("\(uncommittedBytes) bytes proposed and not yet committed")
        }
    }

    /// Appends a client command. Returns where it went: the caller matches the applied entry
    /// at that index and term to answer its client (a different term there means it was lost).
    public mutating func propose(_ command: [UInt8]) throws(ProposalError) -> (index: LogIndex, term: Term) {
        try checkCanPropose()
        let entry = appendEntry(.command(command))
        return (entry.index, entry.term)
    }

    /// Proposes a single-server membership change; one at a time, checked against the
    /// membership in force. Promotion requires the observer to be caught up: its durable log at
    /// most `promotionLagEntriesMax` entries behind the leader's commit, and heard from within
    /// about an election timeout.
    public mutating func proposeMembershipChange(_ change: MembershipChange) throws(ProposalError) -> (index: LogIndex, term: Term) {
        try checkCanPropose()
        if pendingMembershipIndex > log.applied { throw .membershipChangePending }
        if let reason = latestMembership.rejection(of: change) { throw .invalidMembershipChange(reason) }
        if change.kind == .promoteObserver {
            guard let peer = progress[change.replica] else {
                throw .notCaughtUp("observer \(change.replica) has not been heard from")
            }
            let lag = log.committed.rawValue > peer.match.rawValue ? log.committed.rawValue - peer.match.rawValue : 0
            if lag > configuration.promotionLagEntriesMax {
                throw .notCaughtUp("observer \(change.replica) holds \(peer.match) of \(log.committed) committed entries (\(lag) behind, at most \(configuration.promotionLagEntriesMax) allowed)")
            }
            if !peer.hasResponded || !(peer.recentlyActive || peer.activeInPreviousWindow) {
                throw .notCaughtUp("observer \(change.replica) has not answered within an election timeout")
            }
        }
        let entry = appendEntry(.membershipChange(change))
        pendingMembershipIndex = entry.index
        return (entry.index, entry.term)
    }

    /// Starts handing leadership to `target`: catch it up, then tell it to campaign at once.
    /// Proposals are refused meanwhile; the attempt is abandoned after an election timeout.
    public mutating func transferLeadership(to target: ReplicaID) throws(ProposalError) {
        guard state == .leader else { throw .notLeader(leader: leader) }
        if target == id { return }
        guard latestMembership.isVoter(target) else {
            throw .invalidMembershipChange("replica \(target) is not a voter of this shard")
        }
        if transferTarget == target { return }
        transferTarget = target
        electionElapsedTicks = 0
        if progress[target]!.match == log.lastIndex {
            send(Message(from: id, to: target, term: term, kind: .timeoutNow))
        } else if sendAppend(to: target, evenIfEmpty: true) {
            // Even when everything was already sent (as etcd does): if those appends were
            // lost, the target's rejection resumes its catch-up now rather than at the next
            // heartbeat.
            while sendAppend(to: target, onlyWithEntries: true) {}
        }
    }

    /// The caller's report on a snapshot transfer started by an `installSnapshot` message.
    public mutating func reportSnapshot(to peer: ReplicaID, succeeded: Bool) {
        guard state == .leader, var peerProgress = progress[peer], peerProgress.state == .snapshot else { return }
        if !succeeded { peerProgress.pendingSnapshotIndex = .zero }
        peerProgress.becomeProbe()
        // Wait for the follower's acknowledgement (or a heartbeat response) before probing.
        peerProgress.probeSent = true
        progress[peer] = peerProgress
    }

    /// The caller could not deliver to `peer`: stop pipelining to it and probe instead.
    public mutating func reportUnreachable(_ peer: ReplicaID) {
        guard state == .leader, var peerProgress = progress[peer], peerProgress.state == .replicate else { return }
        peerProgress.becomeProbe()
        progress[peer] = peerProgress
    }
}
