import FlotillaSimulation

#if canImport(Glibc)
import Glibc
#endif

/// `flotilla-simulate [--seeds N] [--start S] [--seed X] [--concurrency C] [--no-membership-changes]
/// [--churn] [--liveness | --no-liveness] [--no-crashes] [--trace]`: runs the seeded simulator for
/// seeds S..<S+N (or the single seed X) and prints every failing seed. By default each seed gets
/// `SimulationOptions.forSweep` (what `swift test` runs); `--liveness` forces liveness mode (a
/// core stays up, the rest is gone for good), `--no-liveness` forces the restart-everything
/// mode, `--churn` makes every seed change membership often (3% of steps).
@main
struct SimulateCommand {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        var seedCount: UInt64 = 1_000
        var start: UInt64 = 1
        var single: UInt64?
        var concurrency = 2
        var modes: [String] = []
        var trace = false
        while !arguments.isEmpty {
            let flag = arguments.removeFirst()
            var probe = SimulationOptions(seed: 0)
            if flag.hasPrefix("--"), probe.apply(mode: String(flag.dropFirst(2))) {
                modes.append(String(flag.dropFirst(2)))
                continue
            }
            if flag == "--trace" { trace = true; continue }
            guard let value = arguments.first else { usage("missing value for \(flag)") }
            arguments.removeFirst()
            switch flag {
            case "--seeds": seedCount = UInt64(value) ?? { usage("bad --seeds") }()
            case "--start": start = UInt64(value) ?? { usage("bad --start") }()
            case "--seed": single = UInt64(value) ?? { usage("bad --seed") }()
            case "--concurrency": concurrency = Int(value) ?? { usage("bad --concurrency") }()
            default: usage("unknown flag \(flag)")
            }
        }
        let seeds = single.map { [$0] } ?? Array(start..<(start + seedCount))
        let optionsFor: @Sendable (UInt64) -> SimulationOptions = { [modes] seed in
            var options = SimulationOptions.forSweep(seed: seed)
            for mode in modes { _ = options.apply(mode: mode) }
            return options
        }
        if trace, let seed = seeds.first {
            let simulator = Simulator(options: optionsFor(seed))
            simulator.trace = { print($0) }
            do {
                let report = try simulator.run()
                print("passed: \(report)")
                exit(0)
            } catch {
                print("FAILED \(error)")
                exit(1)
            }
        }
        let began = monotonicSeconds()
        let outcome = SimulationSweep.run(seeds: seeds, concurrency: concurrency, optionsFor: optionsFor)
        let elapsed = monotonicSeconds() - began
        for failure in outcome.failures {
            print("FAILED \(failure)")
        }
        let totals = outcome.totals
        print("seeds=\(outcome.seedsRun) failed=\(outcome.failures.count) seconds=\(rounded(elapsed)) seeds_per_second=\(rounded(Double(outcome.seedsRun) / max(elapsed, 0.001)))")
        print("steps=\(totals.steps) writes_acknowledged=\(totals.writesAcknowledged) reads=\(totals.readsCompleted) elections=\(totals.leaderElections) crashes=\(totals.crashes) partitions=\(totals.partitions) one_way_partitions=\(totals.oneWayPartitions) mutes=\(totals.mutes) write_failures=\(totals.writeFailures) liveness_runs=\(totals.livenessRuns) liveness_fallbacks=\(totals.livenessFallbacks) snapshots_taken=\(totals.snapshotsTaken) snapshots_installed=\(totals.snapshotsInstalled) membership_changes=\(totals.membershipChanges)")
        exit(outcome.failures.isEmpty ? 0 : 1)
    }

    static func usage(_ problem: String) -> Never {
        print("flotilla-simulate: \(problem)\nusage: flotilla-simulate [--seeds N] [--start S] [--seed X] [--concurrency C] [--churn] [--liveness | --no-liveness] [--no-membership-changes] [--no-crashes] [--trace]")
        exit(2)
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
