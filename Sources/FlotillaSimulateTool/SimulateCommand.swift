import FlotillaSimulation

#if canImport(Glibc)
import Glibc
#endif

/// `flotilla-simulate [--seeds N] [--start S] [--seed X] [--concurrency C] [--no-membership-changes] [--no-crashes]`: runs the seeded
/// simulator for seeds S..<S+N (or the single seed X) and prints every failing seed.
@main
struct SimulateCommand {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        var seedCount: UInt64 = 1_000
        var start: UInt64 = 1
        var single: UInt64?
        var concurrency = 2
        var membershipChanges = true
        var crashes = true
        var trace = false
        while !arguments.isEmpty {
            let flag = arguments.removeFirst()
            if flag == "--no-membership-changes" { membershipChanges = false; continue }
            if flag == "--no-crashes" { crashes = false; continue }
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
        if trace, let seed = seeds.first {
            var options = SimulationOptions.forSweep(seed: seed)
            if !membershipChanges { options.membershipChangeProbability = 0 }
            if !crashes { options.crashProbability = 0 }
            let simulator = Simulator(options: options)
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
        let outcome = SimulationSweep.run(seeds: seeds, concurrency: concurrency) { [membershipChanges, crashes] seed in
            var options = SimulationOptions.forSweep(seed: seed)
            if !membershipChanges { options.membershipChangeProbability = 0 }
            if !crashes { options.crashProbability = 0 }
            return options
        }
        let elapsed = monotonicSeconds() - began
        for failure in outcome.failures {
            print("FAILED \(failure)")
        }
        let totals = outcome.totals
        print("seeds=\(outcome.seedsRun) failed=\(outcome.failures.count) seconds=\(rounded(elapsed)) seeds_per_second=\(rounded(Double(outcome.seedsRun) / max(elapsed, 0.001)))")
        print("steps=\(totals.steps) writes_acknowledged=\(totals.writesAcknowledged) reads=\(totals.readsCompleted) elections=\(totals.leaderElections) crashes=\(totals.crashes) partitions=\(totals.partitions) snapshots_taken=\(totals.snapshotsTaken) snapshots_installed=\(totals.snapshotsInstalled) membership_changes=\(totals.membershipChanges)")
        exit(outcome.failures.isEmpty ? 0 : 1)
    }

    static func usage(_ problem: String) -> Never {
        print("flotilla-simulate: \(problem)\nusage: flotilla-simulate [--seeds N] [--start S] [--seed X] [--concurrency C]")
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
