import Dispatch
import Synchronization

/// Runs many seeds, spread over the machine's cores, and collects the failures.
public enum SimulationSweep {
    public struct Outcome: Sendable {
        public var seedsRun: Int
        public var failures: [SimulationFailure]
        public var totals: SimulationReport
    }

    public static func run(seeds: [UInt64], concurrency: Int = 2, optionsFor: @Sendable (UInt64) -> SimulationOptions = SimulationOptions.forSweep) -> Outcome {
        let results = ResultBox(count: seeds.count)
        let workers = max(1, concurrency)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var position = worker
            while position < seeds.count {
                let simulator = Simulator(options: optionsFor(seeds[position]))
                do {
                    results.set(position, .success(try simulator.run()))
                } catch let failure as SimulationFailure {
                    results.set(position, .failure(failure))
                } catch {
                    results.set(position, .failure(SimulationFailure(seed: seeds[position], step: 0, invariant: "unexpected error", detail: "\(error)")))
                }
                position += workers
            }
        }
        var failures: [SimulationFailure] = []
        var totals = SimulationReport()
        for result in results.values {
            switch result {
            case .success(let report)?:
                totals.steps += report.steps
                totals.writesAcknowledged += report.writesAcknowledged
                totals.readsCompleted += report.readsCompleted
                totals.leaderElections += report.leaderElections
                totals.crashes += report.crashes
                totals.partitions += report.partitions
                totals.oneWayPartitions += report.oneWayPartitions
                totals.mutes += report.mutes
                totals.writeFailures += report.writeFailures
                totals.livenessRuns += report.livenessRuns
                totals.livenessFallbacks += report.livenessFallbacks
                totals.snapshotsTaken += report.snapshotsTaken
                totals.snapshotsSent += report.snapshotsSent
                totals.snapshotsInstalled += report.snapshotsInstalled
                totals.membershipChanges += report.membershipChanges
                totals.recoveryStepsTaken = max(totals.recoveryStepsTaken, report.recoveryStepsTaken)
            case .failure(let failure)?:
                failures.append(failure)
            case nil:
                break
            }
        }
        return Outcome(seedsRun: seeds.count, failures: failures.sorted { $0.seed < $1.seed }, totals: totals)
    }
}

/// Results written by worker threads at distinct positions, read after they all finished.
final class ResultBox: Sendable {
    private let storage: Mutex<[Result<SimulationReport, SimulationFailure>?]>

    init(count: Int) { storage = Mutex(Array(repeating: nil, count: count)) }

    func set(_ position: Int, _ value: Result<SimulationReport, SimulationFailure>) {
        storage.withLock { $0[position] = value }
    }

    var values: [Result<SimulationReport, SimulationFailure>?] { storage.withLock { $0 } }
}
