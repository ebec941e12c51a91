import ArgumentParser

/// `flotilla-host-benchmark idle`: the CPU and memory of many shards with nothing to do.
struct IdleBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "idle", abstract: "CPU and memory of idle shards.")

    @Option(name: .customLong("shards"), help: "Shards on every host.") var shards = 1000
    @Option(name: .customLong("seconds"), help: "How long to measure once every shard is quiet.") var seconds = 10.0

    func validate() throws {
        guard shards > 0, seconds > 0 else { throw ValidationError("--shards and --seconds must be positive") }
    }

    func run() async throws {
        try await HostBenchmark.withScratchDirectory { root in
            try await HostBenchmark.idle(root: root, shards: shards, seconds: seconds)
        }
    }
}
