import Synchronization

/// What every connection of one server shares: the count of requests in flight across all of
/// them (bounded, so that a flood of clients meets `ERR BUSY` instead of unbounded queues in
/// the engine), and whether the server is draining for shutdown (new requests are answered
/// `ERR SHUTTING_DOWN`, which promises that they were not applied).
final class ServerInflight: Sendable {
    let maximum: Int
    private let count = Atomic<Int>(0)
    /// Requests refused with `ERR BUSY` at the limit, for the metrics.
    private let refusals = Atomic<UInt64>(0)
    private let draining = Atomic<Bool>(false)
    /// Set once the event loops are going away: a late handler answer is then dropped rather
    /// than scheduled on a loop that no longer runs.
    private let abandoned = Atomic<Bool>(false)
    /// Waiters for the count to reach zero. Checked and appended under the lock, and the
    /// release that reaches zero takes them under the lock, so no wake-up is lost.
    private let idleWaiters = Mutex<[CheckedContinuation<Void, Never>]>([])

    init(maximum: Int) { self.maximum = maximum }

    /// Takes `slots` slots (a request carried out as several engine requests takes one for
    /// each, at most the whole limit), or returns false when the server is at its limit.
    func acquire(_ slots: Int = 1) -> Bool {
        let slots = min(max(slots, 1), maximum)
        if count.add(slots, ordering: .relaxed).newValue > maximum {
            release(slots)
            refusals.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release(_ slots: Int = 1) {
        let slots = min(max(slots, 1), maximum)
        if count.subtract(slots, ordering: .acquiringAndReleasing).newValue == 0 {
            let waiters = idleWaiters.withLock { waiters -> [CheckedContinuation<Void, Never>] in
                defer { waiters = [] }
                return waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    var current: Int { count.load(ordering: .relaxed) }

    var refusedCount: UInt64 { refusals.load(ordering: .relaxed) }

    var isDraining: Bool { draining.load(ordering: .acquiring) }

    func beginDraining() { draining.store(true, ordering: .releasing) }

    var isAbandoned: Bool { abandoned.load(ordering: .acquiring) }

    func abandon() { abandoned.store(true, ordering: .releasing) }

    /// Returns once no request is in flight.
    func waitUntilIdle() async {
        await withCheckedContinuation { continuation in
            let idle = idleWaiters.withLock { waiters -> Bool in
                if count.load(ordering: .acquiring) == 0 { return true }
                waiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}
