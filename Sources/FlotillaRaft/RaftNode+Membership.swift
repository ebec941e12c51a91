extension RaftNode {
    /// Applies a committed membership change: the configuration takes effect here, when
    /// applied, on every replica (a deviation from the thesis, which uses a configuration as
    /// soon as it is appended; see the type's documentation).
    mutating func applyMembershipChange(_ change: MembershipChange, at index: LogIndex) {
        membership.apply(change, at: index)
        guard state == .leader else {
            if membership.removed.contains(id) {
                state = .follower
                leader = .none
            }
            return
        }
        let replica = change.replica
        switch change.kind {
        case .addObserver, .addVoter:
            if replica != id && progress[replica] == nil && membership.isMember(replica) {
                progress[replica] = Progress(next: log.lastIndex.next)
            }
        case .promoteObserver:
            break
        case .remove:
            progress[replica] = nil
            if transferTarget == replica { transferTarget = .none }
            if replica == id {
                stepDownAfterRemoval()
                return
            }
        }
        if maybeCommit() { needsBroadcastAppend = true }
        releaseConfirmedRounds()
    }

    /// A leader that removed itself hands over to the most up-to-date voter, if one holds the
    /// whole log, so the shard does not wait a full election timeout, then steps down.
    mutating func stepDownAfterRemoval() {
        let successor = membership.voters
            .filter { progress[$0]?.match == log.lastIndex }
            .first
        if let successor {
            send(Message(from: id, to: successor, term: term, kind: .timeoutNow))
        }
        becomeFollower(term: term, leader: .none)
    }
}
