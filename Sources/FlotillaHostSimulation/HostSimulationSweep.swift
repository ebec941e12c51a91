import Dispatch
import Synchronization

/// Runs many seeds of the host simulator, spread over threads (each seed on one thread), and
/// collects the failures.
public enum HostSimulationSweep {
    public struct Outcome: Sendable {
        public var seedsRun: Int
        public var failures: [HostSimulationFailure]
        public var totals: HostSimulationReport
    }

    public static func run(seeds: [UInt64], concurrency: Int = 2,
                           optionsFor: @Sendable (UInt64) -> HostSimulationOptions = HostSimulationOptions.forSweep) -> Outcome {
        let results = Mutex<[Int: Result<HostSimulationReport, HostSimulationFailure>]>([:])
        let workers = max(1, concurrency)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var position = worker
            while position < seeds.count {
                let result = Result { try HostSimulator(options: optionsFor(seeds[position])).run() }
                    .mapError { error in
                        error as? HostSimulationFailure
                            ?? HostSimulationFailure(seed: seeds[position], timeMilliseconds: 0, invariant: "unexpected error", detail: "\(error)")
                    }
                results.withLock { $0[position] = result }
                position += workers
            }
        }
        var failures: [HostSimulationFailure] = []
        var totals = HostSimulationReport()
        for (_, result) in results.withLock({ $0 }) {
            switch result {
            case .success(let report): totals.add(report)
            case .failure(let failure): failures.append(failure)
            }
        }
        return Outcome(seedsRun: seeds.count, failures: failures.sorted { $0.seed < $1.seed }, totals: totals)
    }
}
