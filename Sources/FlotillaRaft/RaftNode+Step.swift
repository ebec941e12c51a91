extension RaftNode {
    /// Feeds one message from another replica of this shard.
    public mutating func step(_ message: Message) {
        guard message.to == id, message.from != id, message.from != .none else { return }
        // A removed replica is never admitted again: nothing it says counts, except the
        // acknowledgements a leader needs to tell it that its removal is committed. Only a
        // removal that is applied (committed) counts here: one still in the log may be
        // overwritten by a new leader, who must be heard to do so (the simulator found a
        // shard stuck when followers ignored the leader an uncommitted entry removed).
        // The other exception is the timeout-now a leader that removed itself sends as it steps
        // down: its followers apply the removal (from the append that carried the commit)
        // before that message arrives. Only the leader of the current term sends one, and a
        // removed replica never leads again.
        if membership.removed.contains(message.from) {
            if case .timeoutNow = message.kind, message.term == term, state == .follower {
                // Admitted: handled by stepFollower below.
            } else {
                guard state == .leader else { return }
                guard progress[message.from] != nil else {
                    if case .voteRequest = message.kind { feedRemovedReplica(message.from) }
                    return
                }
                switch message.kind {
                case .appendResponse, .heartbeatResponse: break
                default: return
                }
            }
        }

        if message.term > term {
            switch message.kind {
            case .voteRequest(let request):
                // Leader lease (CheckQuorum): while a live leader is heard from, ignore vote
                // requests, unless the leader itself asked for the transfer.
                let inLease = configuration.checkQuorum && leader != .none
                    && electionElapsedTicks < configuration.electionTimeoutTicks
                if inLease && !request.isLeadershipTransfer { return }
                if !request.isPreVote {
                    becomeFollower(term: message.term, leader: .none)
                }
            case .voteResponse(let response) where response.isPreVote && response.granted:
                // A granted pre-vote carries the term we would campaign in; keep ours.
                break
            case .append, .heartbeat, .installSnapshot:
                becomeFollower(term: message.term, leader: message.from)
            default:
                becomeFollower(term: message.term, leader: .none)
            }
        } else if message.term < term {
            switch message.kind {
            case .append, .heartbeat, .installSnapshot:
                // A stale leader (partitioned, then back). With PreVote or CheckQuorum it may
                // never see our higher term otherwise; answer so that it steps down.
                if configuration.checkQuorum || configuration.preVote {
                    send(Message(from: id, to: message.from, term: term,
                                 kind: .appendResponse(.init(index: .zero, rejected: true))))
                }
            case .voteRequest(let request) where request.isPreVote:
                send(Message(from: id, to: message.from, term: term,
                             kind: .voteResponse(.init(granted: false, isPreVote: true))))
            default:
                break
            }
            return
        }

        if case .voteRequest(let request) = message.kind {
            handleVoteRequest(message, request)
            return
        }
        switch state {
        case .leader: stepLeader(message)
        case .candidate, .preCandidate: stepCandidate(message)
        case .follower: stepFollower(message)
        }
    }

    /// Grants a vote or pre-vote to any eligible candidate, whatever this replica's own log says
    /// about its role: the candidate asks because the latest configuration in *its* log makes
    /// this replica a voter, and only the candidate counts the answer (and only from its voters).
    /// Refusing would strand a shard: voters 1,2,3 promote observer 4, the promotion commits on
    /// 1,2,3 before 4 receives it, 1 is lost; 2 and 3 need 4's vote and 4 still believes it is
    /// an observer (etcd's "learners must vote when asked"). Voting is safe from any replica:
    /// Raft's safety rests on each replica voting at most once per term, for an up-to-date log.
    /// The one refusal left is a replica whose removal is applied: that removal is committed, so
    /// no candidate that can win still counts it. Deviation from the paper: none (the thesis
    /// also lets a server outside its latest configuration vote); it is the observer extension
    /// that is narrowed here, to "observers never campaign and never count themselves".
    mutating func handleVoteRequest(_ message: Message, _ request: MessageKind.VoteRequest) {
        guard !membership.removed.contains(id) else { return }
        let canVote = vote == message.from
            || (vote == .none && leader == .none)
            || (request.isPreVote && message.term > term)
        if canVote && log.isUpToDate(lastIndex: request.lastIndex, lastTerm: request.lastTerm) {
            send(Message(from: id, to: message.from, term: message.term,
                         kind: .voteResponse(.init(granted: true, isPreVote: request.isPreVote))))
            if !request.isPreVote {
                electionElapsedTicks = 0
                vote = message.from
            }
        } else {
            send(Message(from: id, to: message.from, term: term,
                         kind: .voteResponse(.init(granted: false, isPreVote: request.isPreVote))))
        }
    }

    mutating func stepCandidate(_ message: Message) {
        switch message.kind {
        case .voteResponse(let response):
            guard response.isPreVote == (state == .preCandidate), latestMembership.isVoter(message.from) else { return }
            if votes[message.from] == nil { votes[message.from] = response.granted }
            switch tallyVotes() {
            case .won:
                if state == .preCandidate {
                    campaign(preVote: false, leadershipTransfer: false)
                } else {
                    becomeLeader()
                }
            case .lost:
                becomeFollower(term: term, leader: .none)
            case .pending:
                break
            }
        case .append(let append):
            becomeFollower(term: message.term, leader: message.from)
            handleAppend(from: message.from, append)
        case .heartbeat(let heartbeat):
            becomeFollower(term: message.term, leader: message.from)
            handleHeartbeat(from: message.from, heartbeat)
        case .installSnapshot(let metadata):
            becomeFollower(term: message.term, leader: message.from)
            handleSnapshot(from: message.from, metadata)
        default:
            break
        }
    }

    mutating func stepFollower(_ message: Message) {
        switch message.kind {
        case .append(let append):
            electionElapsedTicks = 0
            leader = message.from
            handleAppend(from: message.from, append)
        case .heartbeat(let heartbeat):
            electionElapsedTicks = 0
            leader = message.from
            handleHeartbeat(from: message.from, heartbeat)
        case .installSnapshot(let metadata):
            electionElapsedTicks = 0
            leader = message.from
            handleSnapshot(from: message.from, metadata)
        case .timeoutNow:
            // The leader hands over: campaign at once, skipping pre-vote (thesis 3.10).
            if canCampaign {
                campaign(preVote: false, leadershipTransfer: true)
            }
        case .readIndexResponse(let response):
            readStates.append(ReadState(index: response.index, requests: response.requests))
        default:
            break
        }
    }

    mutating func handleAppend(from sender: ReplicaID, _ append: MessageKind.Append) {
        if append.previousIndex < log.committed {
            send(Message(from: id, to: sender, term: term, kind: .appendResponse(.init(index: log.committed))))
            return
        }
        if let result = log.appendIfMatching(
            previousIndex: append.previousIndex, previousTerm: append.previousTerm,
            entries: append.entries, commit: append.commit) {
            if let appendedFrom = result.appendedFrom {
                noteAppended(append.entries, from: appendedFrom)
            }
            send(Message(from: id, to: sender, term: term, kind: .appendResponse(.init(index: result.lastNew))))
        } else {
            let hint = log.conflictHint(index: append.previousIndex, term: append.previousTerm)
            send(Message(from: id, to: sender, term: term, kind: .appendResponse(.init(
                index: append.previousIndex, rejected: true, hintIndex: hint.index, hintTerm: hint.term))))
        }
    }

    mutating func handleHeartbeat(from sender: ReplicaID, _ heartbeat: MessageKind.Heartbeat) {
        log.commit(to: min(heartbeat.commit, log.lastIndex))
        send(Message(from: id, to: sender, term: term,
                     kind: .heartbeatResponse(.init(readRound: heartbeat.readRound))))
    }

    mutating func handleSnapshot(from sender: ReplicaID, _ metadata: SnapshotMetadata) {
        if metadata.index <= log.committed {
            send(Message(from: id, to: sender, term: term, kind: .appendResponse(.init(index: log.committed))))
            return
        }
        if log.matchTerm(metadata.index, metadata.term) {
            // We already hold the snapshot's last entry: just learn that it is committed.
            log.commit(to: metadata.index)
        } else {
            log.restore(metadata)
            membership = metadata.membership
            unappliedMembershipChanges = []
            recomputeLatestMembership()
        }
        send(Message(from: id, to: sender, term: term, kind: .appendResponse(.init(index: metadata.index))))
    }

    mutating func stepLeader(_ message: Message) {
        switch message.kind {
        case .appendResponse(let response):
            handleAppendResponse(from: message.from, response)
        case .heartbeatResponse(let response):
            guard progress[message.from] != nil else { return }
            progress[message.from]!.recentlyActive = true
            progress[message.from]!.hasResponded = true
            progress[message.from]!.probeSent = false
            if progress[message.from]!.state == .replicate
                && progress[message.from]!.inflight.isFull(messagesMax: configuration.inflightMessagesMax,
                                                          bytesMax: configuration.inflightBytesMax) {
                progress[message.from]!.inflight.freeFirst()
            }
            if progress[message.from]!.match < log.lastIndex {
                // Even with nothing new to send: an empty append at the follower's next index
                // is either accepted or rejected, and a rejection sends the leader back to
                // probing, so appends lost in flight are resent (as etcd does).
                sendAppend(to: message.from, evenIfEmpty: true)
            }
            if response.readRound > 0 && latestMembership.isVoter(message.from) {
                acknowledgeReadRound(response.readRound, from: message.from)
            }
        case .readIndexRequest(let requests):
            guard latestMembership.isMember(message.from) else { return }
            for request in requests {
                enqueueLeaderRead(PendingRead(origin: message.from, request: request))
            }
        default:
            break
        }
    }

    mutating func handleAppendResponse(from sender: ReplicaID, _ response: MessageKind.AppendResponse) {
        guard var peer = progress[sender] else { return }
        peer.recentlyActive = true
        peer.hasResponded = true
        if response.rejected {
            var probeFrom = response.hintIndex
            if response.hintTerm > .zero {
                probeFrom = log.conflictHint(index: response.hintIndex, term: response.hintTerm).index
            }
            if peer.backOff(rejected: response.index, probeFrom: probeFrom) {
                if peer.state == .replicate { peer.becomeProbe() }
                progress[sender] = peer
                sendAppend(to: sender)
            } else {
                progress[sender] = peer
            }
            return
        }
        if peer.acknowledge(response.index) {
            switch peer.state {
            case .probe:
                peer.becomeReplicate()
            case .snapshot:
                if peer.match >= peer.pendingSnapshotIndex {
                    peer.becomeProbe()
                    peer.becomeReplicate()
                }
            case .replicate:
                peer.inflight.free(through: response.index)
            }
            progress[sender] = peer
            if maybeCommit() {
                needsBroadcastAppend = true
            }
            sendAppends(to: sender)
            if !latestMembership.isMember(sender) { dropDepartedPeers() }
            if transferTarget == sender && progress[sender]!.match == log.lastIndex {
                send(Message(from: id, to: sender, term: term, kind: .timeoutNow))
            }
        } else {
            progress[sender] = peer
        }
    }
}
