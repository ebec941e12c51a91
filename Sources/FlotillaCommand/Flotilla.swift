import ArgumentParser

@main
struct Flotilla: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flotilla",
        abstract: "A replicated key-value store: many Raft groups per host, one LMDB log per host.",
        subcommands: [Serve.self, Restore.self, Export.self, Bench.self])
}
