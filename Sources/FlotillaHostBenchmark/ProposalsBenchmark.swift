import ArgumentParser

/// `flotilla-host-benchmark proposals`: proposals per second and their latency, many proposers
/// spread over the shards' leaders.
struct ProposalsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "proposals", abstract: "Proposals/s and latency over many shards.")

    @Option(name: .customLong("shards"), help: "Shards on every host.") var shards = 64
    @Option(name: .customLong("proposers"), help: "Concurrent proposers, spread over the shards.") var proposers = 512
    @Option(name: .customLong("seconds"), help: "How long to propose.") var seconds = 10.0
    @Option(name: .customLong("store"), help: "lmdb (the real log store) or memory.") var store = HostBenchmarkStore.lmdb

    func validate() throws {
        guard shards > 0, proposers > 0, seconds > 0 else { throw ValidationError("--shards, --proposers and --seconds must be positive") }
    }

    func run() async throws {
        try await HostBenchmark.withScratchDirectory { root in
            try await HostBenchmark.proposals(root: root, shards: shards, proposers: proposers, seconds: seconds, lmdb: store == .lmdb)
        }
    }
}
