/// A step worker's writes while the log store refuses them for a reason that passes: a full
/// disk, a full LMDB map, a full writer queue. (A failed sync or an I/O error is not one of
/// these: the host stops, see `HostStoreFailure`.)
///
/// Nothing may be acknowledged before it is durable and nothing may be dropped, so the refused
/// rounds stay in flight and are resubmitted, in order and one at a time, until the store
/// takes them; rounds made meanwhile queue behind them without being submitted. The worker
/// goes on stepping and serving reads the whole time. To keep that queue small it refuses
/// proposals (`BUSY`, with the reason) and ignores appends and snapshots from leaders, which
/// a leader resends once this replica acknowledges again.
struct StoreRefusal {
    static let retryDelayMillisecondsInitial: UInt64 = 20
    static let retryDelayMillisecondsMax: UInt64 = 1_000

    /// The store's words, for the log and for refused clients.
    var reason: String
    /// Rounds refused or held back, in submission order (write ids).
    private(set) var waitingWrites: [UInt64] = []
    /// The round resubmitted and not yet answered.
    var resubmittedWrite: UInt64?
    var retryAtMilliseconds: UInt64
    var retryDelayMilliseconds: UInt64 = StoreRefusal.retryDelayMillisecondsInitial
    /// Whether a resubmitted write got through: the store has room again.
    var hasWritten = false

    init(reason: String, now: UInt64) {
        self.reason = reason
        retryAtMilliseconds = now + Self.retryDelayMillisecondsInitial
    }

    /// Queues a round behind the others, keeping submission order (once: a round already
    /// waiting stays where it is).
    mutating func wait(_ write: UInt64) {
        guard !waitingWrites.contains(write) else { return }
        if let last = waitingWrites.last, last > write {
            waitingWrites.insert(write, at: waitingWrites.firstIndex { $0 > write } ?? waitingWrites.count)
        } else {
            waitingWrites.append(write)
        }
    }

    /// The resubmitted round was refused again: it goes back to the head, and the next try
    /// waits twice as long (up to a second).
    mutating func refusedAgain(_ write: UInt64, reason: String, now: UInt64) {
        if resubmittedWrite == write { resubmittedWrite = nil }
        self.reason = reason
        wait(write)
        retryDelayMilliseconds = min(Self.retryDelayMillisecondsMax, retryDelayMilliseconds * 2)
        retryAtMilliseconds = now + retryDelayMilliseconds
    }

    /// The next round to resubmit, taken off the queue.
    mutating func takeNext() -> UInt64? {
        guard resubmittedWrite == nil, !waitingWrites.isEmpty else { return nil }
        let next = waitingWrites.removeFirst()
        resubmittedWrite = next
        return next
    }

    /// Whether a round older than `write` is still waiting: the store then answered out of
    /// order, which it promises never to do.
    func isWaiting(before write: UInt64) -> Bool { waitingWrites.first.map { $0 < write } ?? false }

    /// Forgets the waiting rounds (the worker is stopping: they were never durable).
    mutating func abandon() -> [UInt64] {
        defer { waitingWrites = [] }
        return waitingWrites
    }

    var isDrained: Bool { waitingWrites.isEmpty && resubmittedWrite == nil }
}
