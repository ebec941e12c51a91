/// Linearizable reads without log writes: ReadIndex, the safe variant of the Raft thesis,
/// section 6.4. The leader notes its commit index, confirms with one heartbeat round that a
/// quorum still follows it, and the read is served once the replica has applied that index.
/// Reads arriving between two `ready()` calls share one round. No read is confirmed before the
/// leader has committed an entry of its own term, since until then its commit index may lag
/// entries committed by earlier leaders.
extension RaftNode {
    /// Asks for a linearizable read. On a leader the read joins the next confirmation round; on
    /// a follower or observer it is forwarded to the leader, whose answer arrives as a
    /// `ReadState`. Throws `notLeader` when no leader is known.
    public mutating func requestRead(_ request: ReadRequestID) throws(ProposalError) {
        if membership.removed.contains(id) { throw .removed }
        if pendingReadCount >= configuration.pendingReadsMax {
            throw .busy("\(pendingReadCount) reads waiting for confirmation")
        }
        if state == .leader {
            enqueueLeaderRead(PendingRead(origin: id, request: request))
        } else {
            guard leader != .none else { throw .notLeader(leader: .none) }
            readsToForward.append(request)
        }
    }

    var pendingReadCount: Int {
        readsAwaitingCommit.count + readsAwaitingRound.count + readsToForward.count
            + readRounds.reduce(0) { $0 + $1.reads.count }
    }

    mutating func enqueueLeaderRead(_ read: PendingRead) {
        if pendingReadCount >= configuration.pendingReadsMax {
            if read.origin == id { failedReads.append(read.request) }
            return
        }
        if committedInCurrentTerm {
            readsAwaitingRound.append(read)
        } else {
            readsAwaitingCommit.append(read)
        }
    }

    /// Starts one confirmation round for every read that arrived since the last one.
    mutating func startReadRound() {
        guard !readsAwaitingRound.isEmpty else { return }
        let reads = readsAwaitingRound
        readsAwaitingRound = []
        let index = log.committed
        if latestMembership.quorum <= 1 && latestMembership.isVoter(id) {
            release(reads, at: index)
            return
        }
        readRoundCounter += 1
        readRounds.append(ReadRound(number: readRoundCounter, index: index, reads: reads, acknowledgements: [id]))
        broadcastHeartbeat(readRound: readRoundCounter)
    }

    /// A voter answered the heartbeat of round `number`: that confirms every round up to it.
    mutating func acknowledgeReadRound(_ number: UInt64, from voter: ReplicaID) {
        for position in readRounds.indices where readRounds[position].number <= number {
            readRounds[position].acknowledgements.insert(voter)
        }
        releaseConfirmedRounds()
    }

    mutating func releaseConfirmedRounds() {
        while let first = readRounds.first {
            let confirmed = first.acknowledgements.filter { latestMembership.isVoter($0) }.count
            guard confirmed >= latestMembership.quorum else { break }
            readRounds.removeFirst()
            release(first.reads, at: first.index)
        }
    }

    mutating func release(_ reads: [PendingRead], at index: LogIndex) {
        var local: [ReadRequestID] = []
        var forwarded: [ReplicaID: [ReadRequestID]] = [:]
        for read in reads {
            if read.origin == id {
                local.append(read.request)
            } else {
                forwarded[read.origin, default: []].append(read.request)
            }
        }
        if !local.isEmpty {
            readStates.append(ReadState(index: index, requests: local))
        }
        for origin in forwarded.keys.sorted() {
            send(Message(from: id, to: origin, term: term,
                         kind: .readIndexResponse(.init(requests: forwarded[origin]!, index: index))))
        }
    }

    /// Leadership ended: reads this replica asked for fail (the caller answers with a retryable
    /// error); reads forwarded by others are dropped and time out at their origin.
    mutating func failLeaderReads() {
        let all = readsAwaitingCommit + readsAwaitingRound + readRounds.flatMap(\.reads)
        failedReads.append(contentsOf: all.filter { $0.origin == id }.map(\.request))
        readsAwaitingCommit = []
        readsAwaitingRound = []
        readRounds = []
    }
}
