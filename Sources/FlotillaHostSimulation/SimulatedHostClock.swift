import FlotillaHost

/// A simulated host's monotonic clock: the simulation's time since this host (incarnation)
/// started, as production counts CLOCK_MONOTONIC from the host's start.
struct SimulatedHostClock: HostClock {
    let time: SimulationTime
    let startMilliseconds: UInt64

    var nowMilliseconds: UInt64 { time.now - startMilliseconds }
}
