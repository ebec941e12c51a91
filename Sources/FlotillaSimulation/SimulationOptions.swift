/// What one simulated run looks like. Every probability is per step (one tick of logical time)
/// unless it says otherwise.
public struct SimulationOptions: Sendable {
    public var seed: UInt64
    public var voterCount: Int = 3
    public var observerCount: Int = 0
    /// Steps with faults and workload, then steps of calm in which the cluster must recover.
    public var faultSteps: Int = 1_500
    public var recoverySteps: Int = 600
    public var electionTimeoutTicks: Int = 10
    public var messageDropProbability: Double = 0.05
    public var messageDuplicateProbability: Double = 0.02
    public var messageDelayTicksMax: Int = 3
    public var crashProbability: Double = 0.004
    public var restartProbability: Double = 0.05
    public var partitionProbability: Double = 0.004
    public var healProbability: Double = 0.03
    /// A disk that is slow: the Ready is persisted a step later, leaving a window for a crash to
    /// lose it after the leader's messages already left.
    public var slowPersistProbability: Double = 0.2
    public var writeProbability: Double = 0.5
    public var readProbability: Double = 0.4
    public var membershipChangeProbability: Double = 0.01
    public var snapshotEveryEntries: Int = 40
    public var keyCount: Int = 5
    /// A deliberately broken caller that sends votes and acknowledgements before persisting
    /// them. Only for proving that the invariant checks catch a durability bug.
    public var unsafeAcknowledgeBeforePersist = false

    public init(seed: UInt64) { self.seed = seed }

    /// The shape a seed gets in a sweep: alternating 3 and 5 voters, some runs with observers.
    public static func forSweep(seed: UInt64) -> SimulationOptions {
        var options = SimulationOptions(seed: seed)
        var random = SeededRandomSource(seed: seed ^ 0xA5A5_5A5A)
        options.voterCount = seed % 2 == 0 ? 3 : 5
        options.observerCount = Int(random.below(2))
        options.messageDropProbability = [0.0, 0.02, 0.1][Int(random.below(3))]
        options.snapshotEveryEntries = [15, 40, 200][Int(random.below(3))]
        options.membershipChangeProbability = random.below(2) == 0 ? 0.0 : 0.01
        return options
    }
}
