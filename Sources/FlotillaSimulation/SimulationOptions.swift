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
    /// A partition that blocks one direction only: one group hears the other, not back.
    public var oneWayPartitionProbability: Double = 0.002
    /// A replica that still receives but can no longer send (a broken outbound link).
    public var muteProbability: Double = 0.002
    /// Heals every partition, one-way block and mute at once.
    public var healProbability: Double = 0.03
    /// A write to storage that fails: the replica fail-stops at once, before acknowledging
    /// anything that write promised, and restarts later from what was already durable.
    public var writeFailureProbability: Double = 0.001
    /// After a leader proposes a membership change, the chance that it crashes within a few
    /// steps, so that promotions and removals are often in flight when the leader dies.
    public var leaderCrashAfterMembershipChangeProbability: Double = 0.3
    /// The chance that, a few steps before the faults end, a leader proposes a membership
    /// change, can reach only a random half of the replicas, and crashes before the faults
    /// end, so that the calm phase (and the choice of a liveness core) starts with that change
    /// held by some replicas only.
    public var membershipChangeAtEndProbability: Double = 0.5
    /// Liveness mode. When the faults end, a random quorum of every configuration that could
    /// still be in effect (the core, see `LivenessCore`) stays up and fully connected, and
    /// every other replica stays down or cut off for good; the core alone must elect a
    /// leader, commit writes and serve linearizable reads. Off: everything is restarted and
    /// healed instead.
    public var livenessCore: Bool = false
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
    /// A deliberately broken network that loses every vote and pre-vote request to a replica
    /// whose own latest configuration says it is not a voter: the behaviour of the core before
    /// observers voted when asked. Only for proving that liveness mode catches that bug.
    public var unsafeLoseVoteRequestsToNonVoters = false

    public init(seed: UInt64) { self.seed = seed }

    /// The shape a seed gets in a sweep: alternating 3 and 5 voters, some runs with observers,
    /// half of them in liveness mode, two thirds with membership churn.
    public static func forSweep(seed: UInt64) -> SimulationOptions {
        var options = SimulationOptions(seed: seed)
        var random = SeededRandomSource(seed: seed ^ 0xA5A5_5A5A)
        options.voterCount = seed % 2 == 0 ? 3 : 5
        options.observerCount = Int(random.below(2))
        options.messageDropProbability = [0.0, 0.02, 0.1][Int(random.below(3))]
        options.snapshotEveryEntries = [15, 40, 200][Int(random.below(3))]
        options.membershipChangeProbability = [0.0, 0.01, 0.03][Int(random.below(3))]
        options.livenessCore = random.below(2) == 0
        return options
    }

    /// The modes `flotilla-simulate` takes as flags (without the dashes) and a regression seed
    /// may name after it: `liveness` and `no-liveness` force the end-of-run mode, `churn` makes
    /// membership change on 3% of steps, `no-membership-changes` and `no-crashes` turn those
    /// off. Returns false for an unknown mode.
    public mutating func apply(mode: String) -> Bool {
        switch mode {
        case "liveness": livenessCore = true
        case "no-liveness": livenessCore = false
        case "churn": membershipChangeProbability = 0.03
        case "no-membership-changes": membershipChangeProbability = 0
        case "no-crashes": crashProbability = 0
        default: return false
        }
        return true
    }
}
