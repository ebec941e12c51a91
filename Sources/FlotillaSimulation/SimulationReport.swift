/// What a simulated run did, for the sweep's summary.
public struct SimulationReport: Sendable {
    public var steps = 0
    public var writesAcknowledged = 0
    public var readsCompleted = 0
    public var leaderElections = 0
    public var crashes = 0
    public var partitions = 0
    public var oneWayPartitions = 0
    public var mutes = 0
    public var writeFailures = 0
    /// Runs that ended with a core only, and liveness runs that found no core (some
    /// configuration that could be in effect had lost its majority) and restarted everything.
    public var livenessRuns = 0
    public var livenessFallbacks = 0
    public var snapshotsTaken = 0
    public var snapshotsSent = 0
    public var snapshotsInstalled = 0
    public var membershipChanges = 0
    public var recoveryStepsTaken = 0

    public init() {}
}
