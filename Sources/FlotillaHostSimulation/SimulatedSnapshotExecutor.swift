import FlotillaHost

/// A simulated host's snapshot thread: each job (writing a snapshot file, then telling the
/// worker) becomes an event the simulator runs later, so that the file is written while the
/// worker goes on, as in production. A job of a host that crashed first never runs.
final class SimulatedSnapshotExecutor: SnapshotJobExecutor, @unchecked Sendable {
    unowned let simulator: HostSimulator
    let host: Int
    let incarnation: Int

    init(simulator: HostSimulator, host: Int, incarnation: Int) {
        self.simulator = simulator
        self.host = host
        self.incarnation = incarnation
    }

    func start() {}

    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        simulator.scheduleSnapshotJob(job, host: host, incarnation: incarnation)
        return true
    }

    func stop() {}
}
