import Synchronization

/// The simulation's one clock, in milliseconds since the run began: only the simulator moves
/// it, to the time of the event it is about to run. Every host's clock and wall clock read it.
final class SimulationTime: Sendable {
    private let milliseconds = Atomic<UInt64>(0)

    var now: UInt64 { milliseconds.load(ordering: .relaxed) }

    func advance(to time: UInt64) {
        if time > now { milliseconds.store(time, ordering: .relaxed) }
    }
}
