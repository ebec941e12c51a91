/// One run of the host simulator: the cluster, the faults, the workload and the checks'
/// bounds. `forSweep(seed:)` derives a varied run from the seed alone, so a seed names a run.
public struct HostSimulationOptions: Sendable {
    public var seed: UInt64
    public var hostCount = 3
    public var shardCount = 1
    public var workerCount = 1
    public var clientCount = 4
    public var keysPerShard = 3
    /// Simulated time with faults; then faults stop and the liveness check begins.
    public var faultMilliseconds: UInt64 = 2_000
    /// After faults stop: the core must elect, commit and serve reads (and every key be read
    /// back) within this.
    public var livenessBoundMilliseconds: UInt64 = 6_000
    /// Right after the faults, no client sends anything for this long: each shard must then
    /// have a live leader that every replica knows, with no request to wake a quiet shard.
    public var livenessIdleMilliseconds: UInt64 = 1_500
    /// Liveness mode: only a core (a random majority) is up and connected after the faults;
    /// the other hosts are down for good. Otherwise every host is restarted and reconnected.
    public var liveness = false
    /// Clients also add observers, promote them and remove members (the first
    /// `initialVoterCount` hosts bootstrap the shards; the others join when added). Only
    /// without liveness mode: the core is chosen from the initial members.
    public var membershipChanges = false
    public var initialVoterCount = 3
    public var crashes = true
    public var storeFailures = true
    /// Now and then a host's store is full for a while and refuses writes (they are retried).
    public var storeRefusals = true
    public var networkFaults = true
    /// Mean time between fault events (a crash, a partition, a heal).
    public var meanFaultIntervalMilliseconds: UInt64 = 200
    public var crashShare = 0.35
    public var dropProbability = 0.02
    public var duplicateProbability = 0.01
    /// A message delayed 20–80 ms instead of 1–4 ms: how messages get reordered.
    public var slowMessageProbability = 0.05
    /// Messages in flight survive the loss of their connection (a transport that queues across
    /// reconnects, or datagrams): they may reach a host that restarted meanwhile. Otherwise,
    /// as over TCP, nothing sent on a lost connection arrives.
    public var messagesOutliveConnections = false
    /// A sync that fails (the host fail-stops); per sync.
    public var storeFailureProbability = 0.002
    public var slowSyncProbability = 0.05
    /// A worker that takes 2–10 ms to run its next round (busy, descheduled): more is taken
    /// in that round.
    public var slowWorkerProbability = 0.05
    public var tickMilliseconds = 10
    public var electionTimeoutTicks = 10
    public var heartbeatIntervalTicks = 1
    public var snapshotEveryEntries: UInt64 = 32
    public var compactionKeepEntries: UInt64 = 4
    public var quiesceAfterTicks = 20
    public var requestTimeoutMilliseconds = 1_000
    /// Breaks the store on purpose: a write's completion is delivered before it is durable (a
    /// host acknowledging what a crash then loses). Only to show the checks catch it.
    public var unsafeCompleteBeforeDurable = false

    public init(seed: UInt64) { self.seed = seed }

    /// What `swift test` and `flotilla-simulate --host` run for a seed: the cluster's size,
    /// shards, workers, fault rates and host tuning all drawn from the seed.
    public static func forSweep(seed: UInt64) -> HostSimulationOptions {
        var random = SimulationRandom(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 0x1234_5678)
        var options = HostSimulationOptions(seed: seed)
        options.hostCount = random.chance(0.3) ? 5 : 3
        options.shardCount = Int(random.between(1, 2))
        options.workerCount = Int(random.between(1, 2))
        options.clientCount = Int(random.between(2, 6))
        options.keysPerShard = Int(random.between(1, 4))
        options.liveness = random.chance(0.5)
        options.initialVoterCount = options.hostCount
        if options.hostCount == 5 && !options.liveness && random.chance(0.7) {
            options.membershipChanges = true
            options.initialVoterCount = 3
        }
        options.meanFaultIntervalMilliseconds = random.between(80, 400)
        options.crashShare = [0.2, 0.35, 0.5][Int(random.below(3))]
        options.dropProbability = [0, 0.01, 0.05, 0.15][Int(random.below(4))]
        options.duplicateProbability = random.chance(0.5) ? 0.02 : 0
        options.slowMessageProbability = [0, 0.05, 0.2][Int(random.below(3))]
        options.storeFailureProbability = [0, 0.001, 0.005][Int(random.below(3))]
        options.slowSyncProbability = [0, 0.05, 0.2][Int(random.below(3))]
        options.slowWorkerProbability = [0, 0.05, 0.2][Int(random.below(3))]
        options.messagesOutliveConnections = random.chance(0.3)
        options.heartbeatIntervalTicks = Int(random.between(1, 2))
        options.snapshotEveryEntries = random.between(8, 64)
        options.compactionKeepEntries = random.between(0, 8)
        options.quiesceAfterTicks = [0, 15, 40][Int(random.below(3))]
        return options
    }

    /// Applies a mode by name (the tool's flags, the regression list); false when unknown.
    public mutating func apply(mode: String) -> Bool {
        switch mode {
        case "liveness":
            liveness = true
            membershipChanges = false
            initialVoterCount = hostCount
        case "no-liveness": liveness = false
        case "no-crashes": crashes = false
        case "no-store-failures": storeFailures = false
        case "no-store-refusals": storeRefusals = false
        case "no-network-faults": networkFaults = false
        case "membership-changes":
            hostCount = 5
            liveness = false
            membershipChanges = true
            initialVoterCount = 3
        case "no-membership-changes":
            membershipChanges = false
            initialVoterCount = hostCount
        default: return false
        }
        return true
    }
}
