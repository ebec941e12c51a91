import ArgumentParser
import FlotillaServer
import Foundation

extension LoadProtocol: ExpressibleByArgument {}

/// `flotilla bench`: a load generator for the line protocol or RESP2 (SPEC "flotilla bench").
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load generator for the line protocol or the Redis protocol.",
        discussion: """
            Closed loop by default: each connection keeps --pipeline requests in flight. With --rate, \
            requests go out on a fixed schedule whatever the answers, and each latency counts from the \
            request's scheduled time, so a stalled server shows in the percentiles. The last line is \
            `ops/s=<n> p50_ms=<x> p99_ms=<y> p999_ms=<z> errors=<n>`.
            """)

    @Option(name: .customLong("addr"), help: ArgumentHelp("Servers to load, spread over the connections in turn.", valueName: "HOST:PORT[,HOST:PORT...]"))
    var addresses: String

    @Option(name: .customLong("connections"), help: "Client connections, spread over the addresses in turn.")
    var connections = 64

    @Option(name: .customLong("pipeline"), help: ArgumentHelp("Requests in flight on each connection (closed loop; default 1; not with --rate).", valueName: "depth"))
    var pipeline: Int?

    @Option(name: .customLong("rate"), help: ArgumentHelp("Open loop: requests per second over all connections, sent on schedule whatever the answers.", valueName: "ops"))
    var rate: Double?

    @Option(name: .customLong("protocol"), help: "line (PUT/GET/STALE-GET) or redis (RESP2 SET/GET, e.g. against --redis-addr).")
    var loadProtocol = LoadProtocol.line

    @Option(name: .customLong("keys"), help: "Keys are the prefix and a random number below this.")
    var keys = 10_000

    @Option(name: .customLong("key-prefix"), help: "Prefix of every key written or read, to stay out of a live keyspace.")
    var keyPrefix = "key-"

    @Option(name: .customLong("value-size"), help: ArgumentHelp("Bytes of each value written.", valueName: "bytes"))
    var valueSize = 16

    @Option(name: .customLong("threads"), help: "Load generator threads, each polling its share of the connections.")
    var threads = 2

    @Option(name: .customLong("reads"), help: ArgumentHelp("Share of reads (GET), 0 to 1; the rest are writes.", valueName: "fraction"))
    var reads = 0.0

    @Flag(name: .customLong("sequential"), help: "Keys in order, each once per --keys requests (to load data), instead of at random.")
    var sequential = false

    @Flag(name: .customLong("stale"), help: "Read with STALE-GET (the host's local replica; line protocol only).")
    var stale = false

    @Flag(name: .customLong("direct"), help: "Send each request straight to its shard's leader's host, as ROUTES says (line protocol, closed loop).")
    var direct = false

    @Option(name: .customLong("duration"), help: ArgumentHelp("Seconds to run (this or --ops).", valueName: "seconds"))
    var duration: Double?

    @Option(name: .customLong("ops"), help: ArgumentHelp("Requests to send in all (this or --duration).", valueName: "count"))
    var operations: Int?

    @OptionGroup var tls: ToolTLSOptions

    func validate() throws {
        guard (duration == nil) != (operations == nil) else { throw ValidationError("give exactly one of --duration or --ops") }
        if let duration { guard duration > 0 && duration.isFinite else { throw ValidationError("--duration must be a positive number of seconds") } }
        if let operations { guard operations > 0 else { throw ValidationError("--ops must be positive") } }
        guard (0...1).contains(reads) else { throw ValidationError("--reads is a fraction from 0 to 1") }
        guard connections > 0, keys > 0, threads > 0 else {
            throw ValidationError("--connections, --keys and --threads must be positive")
        }
        guard valueSize >= 0 else { throw ValidationError("--value-size may not be negative") }
        if let pipeline { guard pipeline > 0 else { throw ValidationError("--pipeline must be positive") } }
        if let rate {
            guard rate > 0 && rate.isFinite else { throw ValidationError("--rate must be a positive number of requests per second") }
            guard pipeline == nil else { throw ValidationError("--pipeline and --rate exclude each other: with --rate, requests are sent on schedule however many are in flight") }
        }
        guard !keyPrefix.utf8.contains(where: { $0 <= 32 || $0 == 127 }) else {
            throw ValidationError("--key-prefix may not hold spaces or control bytes")
        }
        if stale && loadProtocol == .redis { throw ValidationError("--stale reads exist only in the line protocol") }
        if direct {
            guard loadProtocol == .line else { throw ValidationError("--direct speaks the line protocol only (ROUTES and leader hints)") }
            guard rate == nil else { throw ValidationError("--direct and --rate exclude each other: --direct runs closed-loop load") }
        }
        _ = try parsedAddresses()
    }

    func parsedAddresses() throws -> [(host: String, port: Int)] {
        var parsed: [(host: String, port: Int)] = []
        for item in addresses.split(separator: ",", omittingEmptySubsequences: false) {
            guard let colon = item.lastIndex(of: ":"), colon != item.startIndex,
                  let port = Int(item[item.index(after: colon)...]), (1...65_535).contains(port) else {
                throw ValidationError("--addr: '\(item)' is not HOST:PORT")
            }
            parsed.append((String(item[..<colon]), port))
        }
        return parsed
    }

    /// The load generator's options these flags describe.
    func loadOptions() throws -> LoadGenerator.Options {
        var options = LoadGenerator.Options(addresses: try parsedAddresses())
        options.connections = connections
        options.pipelineDepth = pipeline ?? 1
        options.ratePerSecond = rate
        options.loadProtocol = loadProtocol
        options.keyCount = keys
        options.valueSizeBytes = valueSize
        options.readFraction = reads
        options.stale = stale
        options.durationSeconds = duration
        options.operations = operations
        options.threads = threads
        options.keyPrefix = keyPrefix
        options.sequential = sequential
        options.direct = direct
        return options
    }

    /// The load options with the TLS context of the flags, which reads the files.
    func loadOptionsWithTLS() throws -> LoadGenerator.Options {
        var options = try loadOptions()
        options.tls = try tls.context()
        return options
    }

    func run() throws {
        do {
            let options = try loadOptionsWithTLS()
            let result = try LoadGenerator(options: options).run { line in print(line) }
            if direct { print(result.directLine) }
            print(result.summaryLine)
        } catch {
            FileHandle.standardError.write(Data("flotilla bench: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
