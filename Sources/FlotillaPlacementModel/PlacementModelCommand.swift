import ArgumentParser
import FlotillaPlacement

/// `flotilla-placement-model`: the placement rule run alone (no hosts, no disk), printing how
/// evenly it spreads replicas and leaders and how much moves when the cluster grows or shrinks
/// by one host, so that the rule can be judged at sizes no test cluster reaches.
@main
struct PlacementModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flotilla-placement-model",
        abstract: "Model the placement rule: replica and leader spread, replicas moved when a host is added or removed.")

    @Option(name: .customLong("hosts"), help: "Hosts (node ids 1...N).")
    var hosts = 100

    @Option(name: .customLong("shards"), help: "Shards.")
    var shards = 10_000

    @Option(name: .customLong("replicas"), help: "Voters per shard.")
    var replicas = 3

    func validate() throws {
        guard hosts >= 1, shards >= 1, replicas >= 1 else { throw ValidationError("--hosts, --shards and --replicas must be positive") }
    }

    func run() {
        print(PlacementModel(hostCount: hosts, shardCount: shards, replicaCount: replicas).run())
    }
}
