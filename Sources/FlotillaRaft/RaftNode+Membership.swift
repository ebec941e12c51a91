/// Single-server membership changes (thesis 4.1), one at a time. Quorum decisions use the
/// latest configuration in the log, as the thesis prescribes; the applied configuration
/// (`membership`) is what snapshots, addresses and status reports carry, and a removal takes
/// the removed replica out of the shard when applied.
extension RaftNode {
    /// Applies a committed membership change to the applied configuration.
    mutating func applyMembershipChange(_ change: MembershipChange, at index: LogIndex) {
        membership.apply(change, at: index)
        unappliedMembershipChanges.removeAll { $0.index <= index }
        recomputeLatestMembership()
        if membership.removed.contains(id) {
            if state == .leader {
                stepDownAfterRemoval()
            } else {
                state = .follower
                leader = .none
            }
        }
    }

    /// Records membership changes among entries just appended at `from` and after, dropping
    /// those of any truncated suffix, so that the quorum configuration follows the log at once.
    mutating func noteAppended(_ entries: [Entry], from: LogIndex) {
        let hadChanges = !unappliedMembershipChanges.isEmpty
        unappliedMembershipChanges.removeAll { $0.index >= from }
        var added = false
        for entry in entries where entry.index >= from {
            if case .membershipChange(let change) = entry.payload {
                unappliedMembershipChanges.append((entry.index, change))
                if change.kind == .remove { removalIndexes[change.replica] = entry.index }
                added = true
            }
        }
        if added || hadChanges { recomputeLatestMembership() }
    }

    mutating func recomputeLatestMembership() {
        var latest = membership
        for pending in unappliedMembershipChanges {
            latest.apply(pending.change, at: pending.index)
        }
        latestMembership = latest
        guard state == .leader else { return }
        // The leader replicates to every member of the latest configuration.
        for member in latest.members where member != id && progress[member] == nil {
            progress[member] = Progress(next: log.lastIndex.next)
        }
        dropDepartedPeers()
        if maybeCommit() { needsBroadcastAppend = true }
        releaseConfirmedRounds()
    }

    /// Stops replicating to replicas no longer in the configuration, but only once a removed
    /// replica holds its removal entry and knows it is committed: otherwise it would never
    /// learn that it left, and would keep serving stale reads and asking for votes.
    mutating func dropDepartedPeers() {
        for replica in progress.keys.sorted() where !latestMembership.isMember(replica) {
            let peer = progress[replica]!
            if let removal = removalIndexes[replica], latestMembership.removed.contains(replica),
               peer.match < removal || peer.commitSent < removal || log.committed < removal {
                continue
            }
            progress[replica] = nil
            if transferTarget == replica { transferTarget = .none }
        }
    }

    /// A removed replica asks for votes: it does not know that it left. It restarted before it
    /// learned that its removal was committed (the commit index is not durable), or before the
    /// removal entry even reached it, and the leader that fed it until it knew has gone (this
    /// leader may never have tracked it, or has dropped it). Unheard, it would campaign
    /// forever and tell its clients there is no leader. So the leader feeds it again, as right
    /// after a removal: appends from where log matching finds its log, until it holds its
    /// removal entry and knows it is committed. Its vote request itself is not answered, and
    /// its term is never adopted. The removal's own index may be unknown here (compacted into
    /// a snapshot, or appended before this leader started): the applied configuration's index
    /// is at or after it, which is enough. (An addition to the thesis, which leaves removed
    /// servers to be shut down from outside.)
    mutating func feedRemovedReplica(_ replica: ReplicaID) {
        guard state == .leader, progress[replica] == nil, membership.removed.contains(replica) else { return }
        if removalIndexes[replica] == nil { removalIndexes[replica] = membership.configurationIndex }
        progress[replica] = Progress(next: log.lastIndex.next)
        _ = sendAppend(to: replica, evenIfEmpty: true)
    }

    /// A leader whose removal is applied hands over to the most up-to-date voter, if one holds
    /// the whole log, so the shard does not wait a full election timeout, then steps down.
    mutating func stepDownAfterRemoval() {
        let successor = latestMembership.voters
            .filter { $0 != id && progress[$0]?.match == log.lastIndex }
            .first
        if let successor {
            send(Message(from: id, to: successor, term: term, kind: .timeoutNow))
        }
        becomeFollower(term: term, leader: .none)
    }
}
