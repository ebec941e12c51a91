import ArgumentParser
import FlotillaServer

@main
struct Flotilla: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flotilla",
        abstract: "A replicated key-value store: many Raft groups per host, one LMDB log per host.",
        version: Flotilla.version,
        subcommands: [Serve.self, Restore.self, Export.self, Bench.self, Status.self, Certs.self])

    /// The one place the version is written (`flotilla --version`).
    static let version = FlotillaVersion.current
}
