import FlotillaHostSimulation
import Foundation
import XCTest

/// The host simulator in `swift test`: a sweep of seeds (FLOTILLA_HOST_SIMULATION_SEEDS,
/// default 300), every seed that ever failed, a replay that must reproduce a run exactly, and
/// checks that the invariants catch a broken store. `tools/simulate --host` runs any number of
/// seeds outside the tests.
final class HostSimulationTests: XCTestCase {
    func testSweepOfSeeds() {
        let count = UInt64(ProcessInfo.processInfo.environment["FLOTILLA_HOST_SIMULATION_SEEDS"] ?? "") ?? 300
        let started = Date()
        let outcome = HostSimulationSweep.run(seeds: Array(1...count), concurrency: ProcessInfo.processInfo.activeProcessorCount)
        let seconds = Date().timeIntervalSince(started)
        print("host simulation: \(outcome.seedsRun) seeds in \(Int(seconds)) s: \(outcome.totals)")
        for failure in outcome.failures {
            XCTFail("\(failure)  (replay: tools/simulate --host --seed \(failure.seed) --trace)")
        }
        let totals = outcome.totals
        XCTAssertGreaterThan(totals.writesAcknowledged, 0)
        XCTAssertGreaterThan(totals.readsCompleted, 0)
        XCTAssertGreaterThan(totals.crashes, 0)
        XCTAssertGreaterThan(totals.writesLostAtCrash, 0)
        XCTAssertGreaterThan(totals.failStops, 0)
        XCTAssertGreaterThan(totals.writesRefused, 0)
        XCTAssertGreaterThan(totals.partitions, 0)
        XCTAssertGreaterThan(totals.oneWayPartitions, 0)
        XCTAssertGreaterThan(totals.snapshotsInstalled, 0)
        XCTAssertGreaterThan(totals.livenessRuns, 0)
    }

    func testRegressionSeeds() throws {
        let file = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("testdata/simulation/host-regression-seeds.txt")
        // `seed [mode...]  # what it found`; modes as in HostSimulationOptions.apply(mode:).
        var modesOfSeed: [UInt64: [String]] = [:]
        for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
            let text = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = text.split(separator: " ").map(String.init)
            guard let first = words.first, let seed = UInt64(first) else { continue }
            var probe = HostSimulationOptions(seed: seed)
            for mode in words.dropFirst() {
                XCTAssertTrue(probe.apply(mode: mode), "unknown mode \(mode) for regression seed \(seed)")
            }
            XCTAssertNil(modesOfSeed[seed], "regression seed \(seed) listed twice")
            modesOfSeed[seed] = Array(words.dropFirst())
        }
        XCTAssertFalse(modesOfSeed.isEmpty)
        let outcome = HostSimulationSweep.run(seeds: modesOfSeed.keys.sorted(), concurrency: 2) { [modesOfSeed] seed in
            var options = HostSimulationOptions.forSweep(seed: seed)
            for mode in modesOfSeed[seed] ?? [] { _ = options.apply(mode: mode) }
            return options
        }
        for failure in outcome.failures {
            let modes = (modesOfSeed[failure.seed] ?? []).map { "--" + $0 }.joined(separator: " ")
            XCTFail("regression seed failed again: \(failure)  (replay: tools/simulate --host --seed \(failure.seed) \(modes) --trace)")
        }
    }

    /// A seed replays exactly: the same events in the same order, the same outcome.
    func testReplayOfASeedIsExact() throws {
        let first = try HostSimulator(options: .forSweep(seed: 7)).run()
        let second = try HostSimulator(options: .forSweep(seed: 7)).run()
        XCTAssertEqual(first.fingerprint, second.fingerprint)
        XCTAssertEqual(first.events, second.events)
        XCTAssertEqual(first.writesAcknowledged, second.writesAcknowledged)
        XCTAssertEqual(first.simulatedMilliseconds, second.simulatedMilliseconds)
        XCTAssertGreaterThan(first.writesAcknowledged, 0)
    }

    /// The checks are not vacuous: a store that reports writes durable before they are (so a
    /// crash loses acknowledged writes) must be caught.
    func testInvariantsCatchCompletionBeforeDurability() {
        let outcome = HostSimulationSweep.run(seeds: Array(1...8), concurrency: 2) { seed in
            var options = HostSimulationOptions.forSweep(seed: seed)
            options.unsafeCompleteBeforeDurable = true
            options.slowSyncProbability = 0.9
            options.crashShare = 0.8
            options.meanFaultIntervalMilliseconds = 100
            return options
        }
        let safety: Set<String> = ["linearizability", "state machine agreement", "log store write"]
        XCTAssertTrue(outcome.failures.contains { safety.contains($0.invariant) },
                      "acknowledged writes lost at a crash went unnoticed by every safety invariant: \(outcome.failures)")
        print("host simulation, store completing before durable: \(outcome.failures.count) of 8 seeds caught; first: \(outcome.failures.first.map { "\($0)" } ?? "none")")
    }
}
