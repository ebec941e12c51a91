// swift-tools-version: 6.0
import PackageDescription

/// Dependency direction is one way: `FlotillaRaft` imports nothing of ours; the simulator and
/// the storage and network edges import the core, never the reverse.
let package = Package(
    name: "Flotilla",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "FlotillaRaft", targets: ["FlotillaRaft"]),
        .executable(name: "flotilla-simulate", targets: ["FlotillaSimulateTool"]),
    ],
    targets: [
        // The pure Raft core: no I/O, no clock, no global randomness.
        .target(name: "FlotillaRaft"),
        // A seeded, deterministic simulator that runs the real core over a faulty network.
        .target(name: "FlotillaSimulation", dependencies: ["FlotillaRaft"]),
        .executableTarget(name: "FlotillaSimulateTool", dependencies: ["FlotillaSimulation"]),
        .testTarget(name: "FlotillaRaftTests", dependencies: ["FlotillaRaft"]),
        .testTarget(name: "FlotillaSimulationTests", dependencies: ["FlotillaSimulation", "FlotillaRaft"]),
        // The NodeHost: many shards per process, the key-value state machine, snapshots.
        .target(name: "FlotillaHost", dependencies: ["FlotillaRaft"]),
        .testTarget(name: "FlotillaHostTests", dependencies: ["FlotillaHost", "FlotillaRaft"]),
        // BEGIN log store targets (issue 3)
        // END log store targets
    ],
    swiftLanguageModes: [.v6]
)
