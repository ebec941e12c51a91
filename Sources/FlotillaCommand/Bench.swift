import ArgumentParser
import FlotillaServer
import Foundation

/// `flotilla bench`: a load generator for the line protocol (SPEC "flotilla bench").
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load generator for the line protocol.")

    @Option(name: .customLong("addr"), help: "HOST:PORT[,HOST:PORT...]")
    var addresses: String

    @Option(name: .customLong("connections"), help: "Client connections, spread over the addresses in turn.") var connections = 64
    @Option(name: .customLong("pipeline"), help: "Requests in flight on each connection.") var pipeline = 1
    @Option(name: .customLong("keys"), help: "Keys are the prefix and a random number below this.") var keys = 10_000
    @Option(name: .customLong("key-prefix"), help: "Prefix of every key written or read, to stay out of a live keyspace.") var keyPrefix = "key-"
    @Option(name: .customLong("value-size"), help: "Bytes of each value written.") var valueSize = 16
    @Option(name: .customLong("threads"), help: "Load generator threads, each polling its share of the connections.") var threads = 2
    @Option(name: .customLong("reads"), help: "Share of GETs, 0 to 1.") var reads = 0.0
    @Flag(name: .customLong("stale"), help: "Use STALE-GET for reads.") var stale = false
    @Option(name: .customLong("duration"), help: "Seconds to run.") var duration: Double?
    @Option(name: .customLong("ops"), help: "Operations to run.") var operations: Int?

    func validate() throws {
        guard (duration == nil) != (operations == nil) else { throw ValidationError("give exactly one of --duration or --ops") }
        guard (0...1).contains(reads) else { throw ValidationError("--reads is a fraction from 0 to 1") }
        guard connections > 0, pipeline > 0, keys > 0, valueSize >= 0, threads > 0 else {
            throw ValidationError("--connections, --pipeline, --keys and --threads must be positive")
        }
        guard !keyPrefix.utf8.contains(where: { $0 <= 32 }) else { throw ValidationError("--key-prefix may not hold spaces or control bytes") }
    }

    func run() throws {
        var parsed: [(host: String, port: Int)] = []
        for item in addresses.split(separator: ",") {
            guard let colon = item.lastIndex(of: ":"), let port = Int(item[item.index(after: colon)...]) else {
                throw ValidationError("'\(item)' is not HOST:PORT")
            }
            parsed.append((String(item[..<colon]), port))
        }
        var options = LoadGenerator.Options(addresses: parsed)
        options.connections = connections
        options.pipelineDepth = pipeline
        options.keyCount = keys
        options.valueSizeBytes = valueSize
        options.readFraction = reads
        options.stale = stale
        options.durationSeconds = duration
        options.operations = operations
        options.threads = threads
        options.keyPrefix = keyPrefix
        do {
            let result = try LoadGenerator(options: options).run { line in print(line) }
            print(result.summaryLine)
        } catch {
            FileHandle.standardError.write(Data("flotilla bench: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
