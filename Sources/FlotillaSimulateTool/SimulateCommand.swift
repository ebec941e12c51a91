import ArgumentParser
import FlotillaHostSimulation
import FlotillaSimulation

#if canImport(Glibc)
import Glibc
#endif

/// `flotilla-simulate`: runs the seeded simulator for seeds S..<S+N (or the single seed X) and
/// prints every failing seed. By default each seed gets `SimulationOptions.forSweep` (what
/// `swift test` runs); the mode flags change every seed alike, so a failure found with them is
/// replayed with the same flags and `--seed`. `--host` runs the host simulator instead (the real
/// NodeHost on a simulated clock, store and network; `HostSimulationOptions.forSweep`).
@main
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flotilla-simulate",
        abstract: "Runs the seeded Raft simulator (or, with --host, the host simulator) over many seeds and prints every failing seed.")

    @Flag(name: .customLong("host"), help: "Run the host simulator: real NodeHosts on a simulated clock, store and network.")
    var host = false

    @Option(name: .customLong("seeds"), help: "How many seeds to run.")
    var seedCount: UInt64 = 1_000

    @Option(name: .customLong("start"), help: "The first seed.")
    var start: UInt64 = 1

    @Option(name: .customLong("seed"), help: "Run only this seed (replay a failure).")
    var single: UInt64?

    @Option(name: .customLong("concurrency"), help: "Seeds run at once.")
    var concurrency = 2

    @Flag(name: .customLong("trace"), help: "Print every event of the (first) seed; use with --seed.")
    var trace = false

    @Flag(inversion: .prefixedNo, help: "Liveness mode: a core of hosts stays up and the rest is gone for good; --no-liveness restarts everything. Default: chosen per seed.")
    var liveness: Bool?

    @Flag(name: .customLong("churn"), help: "Change membership often (3% of steps).")
    var churn = false

    @Flag(name: .customLong("no-membership-changes"), help: "Never change membership.")
    var noMembershipChanges = false

    @Flag(name: .customLong("no-crashes"), help: "Never crash a host.")
    var noCrashes = false

    @Flag(name: .customLong("membership-changes"), help: "With --host: five hosts, three initial voters, clients add, promote and remove members (implies --no-liveness).")
    var membershipChanges = false

    @Flag(name: .customLong("no-store-failures"), help: "With --host: never fail a store sync.")
    var noStoreFailures = false

    @Flag(name: .customLong("no-network-faults"), help: "With --host: never partition the network.")
    var noNetworkFaults = false

    func validate() throws {
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
        guard seedCount > 0 else { throw ValidationError("--seeds must be positive") }
        guard start <= UInt64.max - seedCount else { throw ValidationError("--start plus --seeds overflows") }
        guard !(churn && noMembershipChanges) else { throw ValidationError("--churn and --no-membership-changes exclude each other") }
        if host {
            guard !churn else { throw ValidationError("--churn does not apply to --host (use --membership-changes)") }
            guard !(membershipChanges && noMembershipChanges) else { throw ValidationError("--membership-changes and --no-membership-changes exclude each other") }
            guard !(membershipChanges && liveness == true) else { throw ValidationError("--membership-changes runs without liveness mode") }
        } else {
            guard !noStoreFailures && !noNetworkFaults && !membershipChanges else {
                throw ValidationError("--no-store-failures, --no-network-faults and --membership-changes need --host")
            }
        }
    }

    /// The simulator's mode names, as `SimulationOptions.apply(mode:)` knows them.
    var modes: [String] {
        var modes: [String] = []
        if let liveness { modes.append(liveness ? "liveness" : "no-liveness") }
        if churn { modes.append("churn") }
        if noMembershipChanges { modes.append("no-membership-changes") }
        if noCrashes { modes.append("no-crashes") }
        if membershipChanges { modes.append("membership-changes") }
        if noStoreFailures { modes.append("no-store-failures") }
        if noNetworkFaults { modes.append("no-network-faults") }
        return modes
    }

    func run() throws {
        let seeds = single.map { [$0] } ?? Array(start..<(start + seedCount))
        if host { return try runHost(seeds: seeds) }
        let optionsFor: @Sendable (UInt64) -> SimulationOptions = { [modes] seed in
            var options = SimulationOptions.forSweep(seed: seed)
            for mode in modes { _ = options.apply(mode: mode) }
            return options
        }
        if trace, let seed = seeds.first {
            return try replay {
                let simulator = Simulator(options: optionsFor(seed))
                simulator.trace = { print($0) }
                return "\(try simulator.run())"
            }
        }
        let began = Self.monotonicSeconds()
        let outcome = SimulationSweep.run(seeds: seeds, concurrency: concurrency, optionsFor: optionsFor)
        let totals = outcome.totals
        try report(failures: outcome.failures.map { "\($0)" }, seedsRun: outcome.seedsRun, began: began,
                   totals: "steps=\(totals.steps) writes_acknowledged=\(totals.writesAcknowledged) reads=\(totals.readsCompleted) elections=\(totals.leaderElections) crashes=\(totals.crashes) partitions=\(totals.partitions) one_way_partitions=\(totals.oneWayPartitions) mutes=\(totals.mutes) write_failures=\(totals.writeFailures) liveness_runs=\(totals.livenessRuns) liveness_fallbacks=\(totals.livenessFallbacks) snapshots_taken=\(totals.snapshotsTaken) snapshots_installed=\(totals.snapshotsInstalled) membership_changes=\(totals.membershipChanges)")
    }

    /// The host simulator over `seeds`, with the same output shape as the Raft simulator's.
    func runHost(seeds: [UInt64]) throws {
        let optionsFor: @Sendable (UInt64) -> HostSimulationOptions = { [modes] seed in
            var options = HostSimulationOptions.forSweep(seed: seed)
            for mode in modes { _ = options.apply(mode: mode) }
            return options
        }
        if trace, let seed = seeds.first {
            return try replay {
                let simulator = HostSimulator(options: optionsFor(seed))
                simulator.trace = { print($0) }
                return "\(try simulator.run())"
            }
        }
        let began = Self.monotonicSeconds()
        let outcome = HostSimulationSweep.run(seeds: seeds, concurrency: concurrency, optionsFor: optionsFor)
        try report(failures: outcome.failures.map { "\($0)" }, seedsRun: outcome.seedsRun, began: began, totals: "\(outcome.totals)")
    }

    /// One seed with its trace: its report, or the failure and exit status 1.
    func replay(_ run: () throws -> String) throws {
        do {
            print("passed: \(try run())")
        } catch {
            print("FAILED \(error)")
            throw ExitCode(1)
        }
    }

    /// A sweep's outcome: every failing seed, the seed count and rate, the totals; exit status
    /// 1 when any seed failed.
    func report(failures: [String], seedsRun: Int, began: Double, totals: String) throws {
        let elapsed = Self.monotonicSeconds() - began
        for failure in failures { print("FAILED \(failure)") }
        print("seeds=\(seedsRun) failed=\(failures.count) seconds=\(Self.rounded(elapsed)) seeds_per_second=\(Self.rounded(Double(seedsRun) / max(elapsed, 0.001)))")
        print(totals)
        if !failures.isEmpty { throw ExitCode(1) }
    }

    static func rounded(_ value: Double) -> String {
        String(Double(Int(value * 10)) / 10)
    }

    static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
