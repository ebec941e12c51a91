// swift-tools-version: 6.0
import PackageDescription

/// Dependency direction is one way: `FlotillaRaft` imports nothing of ours; the simulator and
/// the storage and network edges import the core, never the reverse.
let package = Package(
    name: "Flotilla",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "FlotillaRaft", targets: ["FlotillaRaft"]),
        .executable(name: "flotilla", targets: ["FlotillaCommand"]),
        .executable(name: "flotilla-simulate", targets: ["FlotillaSimulateTool"]),
        .executable(name: "flotilla-host-benchmark", targets: ["FlotillaHostBenchmark"]),
        .library(name: "FlotillaLogStore", targets: ["FlotillaLogStore"]),
        .executable(name: "flotilla-logstore-benchmark", targets: ["FlotillaLogStoreBenchmark"]),
        .executable(name: "flotilla-placement-model", targets: ["FlotillaPlacementModel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // The pure Raft core: no I/O, no clock, no global randomness.
        .target(name: "FlotillaRaft"),
        // A seeded, deterministic simulator that runs the real core over a faulty network.
        .target(name: "FlotillaSimulation", dependencies: ["FlotillaRaft"]),
        .executableTarget(name: "FlotillaSimulateTool", dependencies: [
            "FlotillaSimulation", "FlotillaHostSimulation", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "FlotillaRaftTests", dependencies: ["FlotillaRaft"]),
        .testTarget(name: "FlotillaSimulationTests", dependencies: ["FlotillaSimulation", "FlotillaRaft"]),
        // Which hosts hold each shard: rendezvous hashing of shard and node id, pure (it knows
        // the Raft identifiers and nothing else of ours), and the model that measures it.
        .target(name: "FlotillaPlacement", dependencies: ["FlotillaRaft"]),
        .executableTarget(name: "FlotillaPlacementModel", dependencies: [
            "FlotillaPlacement", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "FlotillaPlacementTests", dependencies: ["FlotillaPlacement", "FlotillaRaft"]),
        // The NodeHost: many shards per process, the key-value state machine, snapshots.
        // Naming threads for the kernel (perf, top), shared by the host and the log store.
        .target(name: "FlotillaThreads"),
        .target(name: "FlotillaHost", dependencies: [
            "FlotillaRaft", "FlotillaThreads",
            .product(name: "HeapModule", package: "swift-collections"),
        ]),
        // Test doubles for the host: an in-memory store and network (tests, benchmarks, the host simulator).
        .target(name: "FlotillaHostTesting", dependencies: ["FlotillaHost", "FlotillaRaft"]),
        // The host simulator: the real NodeHost round logic on simulated time, store and network.
        .target(name: "FlotillaHostSimulation", dependencies: [
            "FlotillaHost", "FlotillaHostTesting", "FlotillaRaft",
            .product(name: "HeapModule", package: "swift-collections"),
        ]),
        .testTarget(name: "FlotillaHostSimulationTests", dependencies: ["FlotillaHostSimulation", "FlotillaHost", "FlotillaRaft"]),
        .testTarget(name: "FlotillaHostTests", dependencies: ["FlotillaHost", "FlotillaHostTesting", "FlotillaRaft"]),
        // TLS material (PEM files checked at load) and the current NIOSSL contexts, reloadable
        // on SIGHUP. Used by the transport, the client server and the command; never by the core.
        .target(name: "FlotillaTLS", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "NIOTLS", package: "swift-nio"),
        ]),
        // The rules of the TLS files and of member certificates, unit-tested with certificates
        // made in memory.
        .testTarget(name: "FlotillaTLSTests", dependencies: [
            "FlotillaTLS", "FlotillaCertificates",
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Hosts talking over TCP (SwiftNIO), behind the NodeHost's transport protocol.
        .target(name: "FlotillaTransport", dependencies: [
            "FlotillaHost", "FlotillaRaft", "FlotillaEventLoop", "FlotillaTLS",
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "FlotillaTransportTests", dependencies: [
            "FlotillaTransport", "FlotillaHost", "FlotillaHostTesting", "FlotillaRaft",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        // Batched hand-offs to event loops, shared by the client and peer sides.
        .target(name: "FlotillaEventLoop", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        // The line protocol: pure parsing and rendering, and a thin SwiftNIO server.
        .target(name: "FlotillaServer", dependencies: [
            "FlotillaEventLoop", "FlotillaHost", "FlotillaTLS",
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "FlotillaServerTests", dependencies: [
            "FlotillaServer", "FlotillaEventLoop",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Metrics (swift-metrics over swift-prometheus), the /metrics and /health listener
        // (NIOHTTP1), the health decision and the `flotilla status` table. Reads the host from
        // the outside: nothing below it imports metrics.
        .target(name: "FlotillaObservability", dependencies: [
            "FlotillaNode", "FlotillaHost", "FlotillaLogStore", "FlotillaRaft", "FlotillaServer", "FlotillaTransport",
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .testTarget(name: "FlotillaObservabilityTests", dependencies: [
            "FlotillaObservability", "FlotillaHost", "FlotillaRaft", "FlotillaServer",
        ]),
        // A development certificate authority for `flotilla certs`: builds the CA and host
        // certificates and their PEM text, and touches no file.
        .target(name: "FlotillaCertificates", dependencies: [
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ]),
        .testTarget(name: "FlotillaCertificatesTests", dependencies: [
            "FlotillaCertificates",
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ]),
        // The `flotilla` command: serve, restore, export, bench, status, certs.
        .executableTarget(name: "FlotillaCommand", dependencies: [
            "FlotillaNode", "FlotillaServer", "FlotillaHost", "FlotillaLogStore", "FlotillaRaft", "FlotillaTransport",
            "FlotillaTLS", "FlotillaObservability", "FlotillaCertificates",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // `flotilla`'s command lines parsed without running them: flags, defaults, refusals.
        .testTarget(name: "FlotillaCommandTests", dependencies: [
            "FlotillaCommand", "FlotillaServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // A running host assembled: the LMDB store behind the NodeHost, first boot, restore.
        .target(name: "FlotillaNode", dependencies: [
            "FlotillaHost", "FlotillaPlacement", "FlotillaLogStore", "FlotillaRaft", "FlotillaTransport", "FlotillaServer", "FlotillaTLS",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "FlotillaNodeTests", dependencies: ["FlotillaNode", "FlotillaHost", "FlotillaHostTesting", "FlotillaLogStore", "FlotillaRaft", "FlotillaServer"]),
        .executableTarget(name: "FlotillaHostBenchmark", dependencies: [
            "FlotillaNode", "FlotillaHost", "FlotillaHostTesting", "FlotillaLogStore", "FlotillaRaft", "FlotillaTransport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Real `flotilla` processes on real sockets (loopback); finds the executable next to the test bundle.
        .testTarget(name: "FlotillaEndToEndTests"),
        // BEGIN log store targets (issue 3)
        // The host's one LMDB environment holding every shard's log, with group commit.
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .target(name: "FlotillaLogStore", dependencies: ["CLMDB", "FlotillaRaft", "FlotillaThreads"]),
        .executableTarget(name: "FlotillaLogStoreBenchmark", dependencies: [
            "FlotillaLogStore", "FlotillaRaft", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // A child process for the crash and disk-full tests: writes batches, reports each durable one.
        .executableTarget(name: "FlotillaLogStoreCrashWriter", dependencies: [
            "FlotillaLogStore", "FlotillaRaft", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(
            name: "FlotillaLogStoreTests",
            dependencies: ["FlotillaLogStore", "FlotillaRaft", "FlotillaLogStoreCrashWriter"]
        ),
        // END log store targets
    ],
    swiftLanguageModes: [.v6]
)
