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
        XCTAssertGreaterThan(outcome.totals.livenessRuns, 0)
        XCTAssertGreaterThan(outcome.totals.oneWayPartitions, 0)
        XCTAssertGreaterThan(outcome.totals.mutes, 0)
        XCTAssertGreaterThan(outcome.totals.writeFailures, 0)
    }

    func testRegressionSeeds() throws {
        let file = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("testdata/simulation/regression-seeds.txt")
        // `seed [mode...]  # what it found`; modes as in SimulationOptions.apply(mode:).
        var modesOfSeed: [UInt64: [String]] = [:]
        var seeds: [UInt64] = []
        for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
            let text = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = text.split(separator: " ").map(String.init)
            guard let first = words.first, let seed = UInt64(first) else { continue }
            var probe = SimulationOptions(seed: seed)
            for mode in words.dropFirst() {
                XCTAssertTrue(probe.apply(mode: mode), "unknown mode \(mode) for regression seed \(seed)")
            }
            XCTAssertNil(modesOfSeed[seed], "regression seed \(seed) listed twice")
            modesOfSeed[seed] = Array(words.dropFirst())
            seeds.append(seed)
        }
        XCTAssertFalse(seeds.isEmpty)
        let outcome = SimulationSweep.run(seeds: seeds, concurrency: 2) { [modesOfSeed] seed in
            var options = SimulationOptions.forSweep(seed: seed)
            for mode in modesOfSeed[seed] ?? [] { _ = options.apply(mode: mode) }
            return options
        }
        for failure in outcome.failures {
            XCTFail("regression seed failed again: \(failure)  (replay: tools/simulate --seed \(failure.seed) \((modesOfSeed[failure.seed] ?? []).map { "--" + $0 }.joined(separator: " ")) --trace)")
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

    /// Liveness mode is not vacuous: with vote requests to replicas that believe they are not
    /// voters lost (the core's behaviour before a promoted observer voted when asked), seeds
    /// that once stranded a shard that way must fail again, as a liveness failure.
    func testLivenessModeCatchesObserversThatRefuseToVote() {
        let outcome = SimulationSweep.run(seeds: Self.seedsStrandedByRefusedVotes, concurrency: 2) { seed in
            var options = SimulationOptions.forSweep(seed: seed)
            _ = options.apply(mode: "liveness")
            _ = options.apply(mode: "churn")
            options.unsafeLoseVoteRequestsToNonVoters = true
            return options
        }
        XCTAssertFalse(outcome.failures.isEmpty, "a shard stranded by refused votes went unnoticed")
        for failure in outcome.failures {
            XCTAssertEqual(failure.invariant, "liveness of the core", "\(failure)")
        }
    }

    /// Seeds that, in liveness mode with churn, failed before promoted observers voted when asked.
    static let seedsStrandedByRefusedVotes: [UInt64] = [53, 65, 85, 116, 171, 183]
}
