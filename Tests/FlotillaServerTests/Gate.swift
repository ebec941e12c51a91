import Dispatch
import Synchronization

/// Holds requests inside the fake handler until the test opens it, so that a test decides when
/// (and so in which order) requests complete, and learns when they arrived, without sleeping.
final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var arrived = 0
        var held: [CheckedContinuation<Void, Never>] = []
        var arrivalWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())
    /// Signalled once per arrival and once per departure, for the blocking waits of socket tests.
    private let arrivals = DispatchSemaphore(value: 0)
    private let departures = DispatchSemaphore(value: 0)

    /// Called by the handler: waits here until the gate is open.
    func pass() async {
        await withCheckedContinuation { continuation in
            let (resumeNow, ready) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                state.arrived += 1
                let arrived = state.arrived
                let ready = state.arrivalWaiters.filter { $0.count <= arrived }.map(\.continuation)
                state.arrivalWaiters.removeAll { $0.count <= arrived }
                if state.isOpen { return (true, ready) }
                state.held.append(continuation)
                return (false, ready)
            }
            arrivals.signal()
            for waiter in ready { waiter.resume() }
            if resumeNow { continuation.resume() }
        }
    }

    /// Called by the handler once it has carried out a request that passed the gate.
    func departed() { departures.signal() }

    /// Lets every held request, and every later one, through.
    func open() {
        let held = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.held = [] }
            return state.held
        }
        for continuation in held { continuation.resume() }
    }

    /// Returns once `count` requests in all have arrived at the gate.
    func arrivals(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let reached = state.withLock { state -> Bool in
                if state.arrived >= count { return true }
                state.arrivalWaiters.append((count, continuation))
                return false
            }
            if reached { continuation.resume() }
        }
    }

    /// Blocks until one more request has arrived; false after `timeoutSeconds` (a test failure,
    /// not a synchronisation device).
    func waitForArrival(timeoutSeconds: Double = 30) -> Bool {
        arrivals.wait(timeout: .now() + timeoutSeconds) == .success
    }

    /// Blocks until one more request has been carried out past the gate.
    func waitForDeparture(timeoutSeconds: Double = 30) -> Bool {
        departures.wait(timeout: .now() + timeoutSeconds) == .success
    }
}
