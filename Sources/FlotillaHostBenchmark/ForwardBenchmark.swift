import ArgumentParser

/// `flotilla-host-benchmark forward`: round trips of requests relayed between two hosts' transports.
struct ForwardBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "forward", abstract: "Relayed request round trips between two transports.")

    @Option(name: .customLong("concurrency"), help: "Relays in flight at once.") var concurrency = 64

    func validate() throws {
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
    }

    func run() async throws {
        try await HostBenchmark.withScratchDirectory { root in
            try await HostBenchmark.forward(root: root, concurrency: concurrency)
        }
    }
}
