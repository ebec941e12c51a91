import Foundation
import XCTest
import FlotillaSimulation

/// The seeded simulator in `swift test`: a sweep of seeds (FLOTILLA_SIMULATION_SEEDS, default
/// 1,000), every seed that ever failed, and a check that the invariants do catch a broken
/// caller. `tools/simulate` runs any number of seeds outside the tests.
final class SimulationTests: XCTestCase {
    func testSweepOfSeeds() {
        let count = UInt64(ProcessInfo.processInfo.environment["FLOTILLA_SIMULATION_SEEDS"] ?? "") ?? 1_000
        let started = Date()
        let outcome = SimulationSweep.run(seeds: Array(1...count), concurrency: ProcessInfo.processInfo.activeProcessorCount)
        let seconds = Date().timeIntervalSince(started)
        print("simulation: \(outcome.seedsRun) seeds in \(Int(seconds)) s (\(Int(Double(outcome.seedsRun) / max(seconds, 0.001))) seeds/s), \(outcome.totals.writesAcknowledged) writes acknowledged, \(outcome.totals.readsCompleted) reads, \(outcome.totals.crashes) crashes, \(outcome.totals.snapshotsInstalled) snapshots installed, \(outcome.totals.membershipChanges) membership changes")
        for failure in outcome.failures {
            XCTFail("\(failure)  (replay: tools/simulate --seed \(failure.seed) --trace)")
        }
        XCTAssertGreaterThan(outcome.totals.writesAcknowledged, 0)
        XCTAssertGreaterThan(outcome.totals.readsCompleted, 0)
        XCTAssertGreaterThan(outcome.totals.snapshotsInstalled, 0)
        XCTAssertGreaterThan(outcome.totals.membershipChanges, 0)
    }

    func testRegressionSeeds() throws {
        let file = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("testdata/simulation/regression-seeds.txt")
        let seeds = try String(contentsOf: file, encoding: .utf8)
            .split(separator: "\n")
            .compactMap { line -> UInt64? in
                let text = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                return UInt64(text.trimmingCharacters(in: .whitespaces))
            }
        XCTAssertFalse(seeds.isEmpty)
        let outcome = SimulationSweep.run(seeds: seeds, concurrency: 2)
        for failure in outcome.failures {
            XCTFail("regression seed failed again: \(failure)")
        }
    }

    /// The checks are not vacuous: a caller that acknowledges before persisting, with crashes
    /// losing unpersisted state, must be caught.
    func testInvariantsCatchAcknowledgementBeforePersistence() {
        let outcome = SimulationSweep.run(seeds: Array(1...60), concurrency: 2) { seed in
            var options = SimulationOptions.forSweep(seed: seed)
            options.unsafeAcknowledgeBeforePersist = true
            options.crashProbability = 0.02
            options.slowPersistProbability = 0.6
            return options
        }
        XCTAssertFalse(outcome.failures.isEmpty, "a durability bug went unnoticed by every invariant")
    }
}
