/// What a leader knows about one follower's log (etcd's Progress), and how it paces sending.
struct Progress {
    enum State: String {
        /// Unknown where the logs agree: one append at a time until one is accepted.
        case probe
        /// Logs agree through `match`: pipeline appends up to the in-flight limits.
        case replicate
        /// The follower needs a snapshot; wait until the transfer is reported.
        case snapshot
    }

    var match: LogIndex = .zero
    var next: LogIndex
    var state: State = .probe
    /// In probe state, an append is outstanding; cleared by a response or a heartbeat response.
    var probeSent = false
    var pendingSnapshotIndex: LogIndex = .zero
    /// Heard from since the last quorum check (CheckQuorum) or promotion check.
    var recentlyActive = true
    /// Whether it was heard from in the previous window: with `recentlyActive`, "heard from
    /// within about one election timeout" for promotion checks.
    var activeInPreviousWindow = true
    /// Whether the replica has answered this leader at all: an observer that never did cannot
    /// be known to be caught up, whatever the numbers say.
    var hasResponded = false
    /// The commit index last sent, so that an empty append is sent only to carry news.
    var commitSent: LogIndex = .zero
    var inflight = InflightWindow()

    init(next: LogIndex) { self.next = next }

    mutating func becomeProbe() {
        if state == .snapshot {
            next = max(match.next, pendingSnapshotIndex.next)
            pendingSnapshotIndex = .zero
        } else {
            next = match.next
        }
        state = .probe
        probeSent = false
        inflight.reset()
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match.next
        probeSent = false
        inflight.reset()
    }

    mutating func becomeSnapshot(_ index: LogIndex) {
        state = .snapshot
        pendingSnapshotIndex = index
        probeSent = false
        inflight.reset()
    }

    /// Records an acknowledgement of `index`; false if it tells nothing new.
    mutating func acknowledge(_ index: LogIndex) -> Bool {
        var updated = false
        if index > match {
            match = index
            updated = true
            probeSent = false
        }
        if next < index.next { next = index.next }
        return updated
    }

    /// Handles a rejection of an append after `rejected`; false if the rejection is stale.
    mutating func backOff(rejected: LogIndex, probeFrom hint: LogIndex) -> Bool {
        if state == .replicate {
            // A rejection at or below match is a reordered old message.
            if rejected <= match { return false }
            next = match.next
            return true
        }
        // In probe, only the answer to the outstanding probe counts.
        if next.previous != rejected { return false }
        next = max(min(rejected, hint.next), match.next)
        if next < LogIndex(1) { next = LogIndex(1) }
        probeSent = false
        return true
    }

    func isPaused(inflightMessagesMax: Int, inflightBytesMax: Int) -> Bool {
        switch state {
        case .probe: return probeSent
        case .replicate: return inflight.isFull(messagesMax: inflightMessagesMax, bytesMax: inflightBytesMax)
        case .snapshot: return true
        }
    }
}

/// The appends a leader has in flight to one follower: their last indexes and sizes.
struct InflightWindow {
    private var messages: [(lastIndex: LogIndex, bytes: Int)] = []
    private var start = 0
    private(set) var bytes = 0

    var count: Int { messages.count - start }

    func isFull(messagesMax: Int, bytesMax: Int) -> Bool {
        count >= messagesMax || (count > 0 && bytes >= bytesMax)
    }

    mutating func add(lastIndex: LogIndex, bytes size: Int) {
        messages.append((lastIndex, size))
        bytes += size
    }

    /// Frees every message whose entries are all acknowledged.
    mutating func free(through index: LogIndex) {
        while start < messages.count, messages[start].lastIndex <= index {
            bytes -= messages[start].bytes
            start += 1
        }
        if start > 64 && start * 2 > messages.count {
            messages.removeFirst(start)
            start = 0
        }
    }

    /// Frees the oldest message: used when a heartbeat response shows the follower alive while
    /// the window is full, since the appends in it may have been lost; the next append then
    /// either fills the gap or is rejected, which sends the leader back to probing.
    mutating func freeFirst() {
        guard start < messages.count else { return }
        free(through: messages[start].lastIndex)
    }

    mutating func reset() {
        messages.removeAll(keepingCapacity: true)
        start = 0
        bytes = 0
    }
}
