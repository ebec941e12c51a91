import ArgumentParser

/// `flotilla-host-benchmark snapshot`: how fast a large state machine is saved to and restored from a snapshot file.
struct SnapshotBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "snapshot", abstract: "Snapshot file save and restore speed.")

    @Option(name: .customLong("megabytes"), help: "Size of the state machine to snapshot.") var megabytes = 1024

    func validate() throws {
        guard megabytes > 0 else { throw ValidationError("--megabytes must be positive") }
    }

    func run() async throws {
        try await HostBenchmark.withScratchDirectory { root in
            try HostBenchmark.snapshot(root: root, megabytes: megabytes)
        }
    }
}
