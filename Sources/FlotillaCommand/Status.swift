import ArgumentParser
import FlotillaObservability
import FlotillaServer
import FlotillaTransport
import Foundation

/// `flotilla status`: every shard and replica of the cluster in one table, through one host.
/// For each shard it asks `STATUS <shard>` (which names the members, and the shard count), then
/// `STATUS <shard> <node>` for each member (relayed to that host, which describes its own
/// replica). Exit status 1 when some shard has no leader, 2 when the host cannot be reached.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every shard and replica of the cluster: role, leader, term, commit, applied, lag, quiet.")

    @Option(name: .customLong("addr"), help: "A host's client address (HOST:PORT).")
    var address = "127.0.0.1:7301"

    @Option(name: .customLong("shard"), help: "Only this shard (default: every shard).")
    var shard: UInt64?

    @Option(name: .customLong("timeout"), help: "Seconds to wait for each answer.")
    var timeoutSeconds: Double = 15

    @OptionGroup var tls: ToolTLSOptions

    func run() throws {
        let socket: Int32
        do {
            guard let (host, port) = splitHostPort(address) else { throw LoadGeneratorError.connection("'\(address)' is not HOST:PORT") }
            socket = try LoadGenerator.connect(host, port, tls: try tls.context())
        } catch {
            FileHandle.standardError.write(Data("flotilla status: cannot connect to \(address): \(error)\n".utf8))
            throw ExitCode(2)
        }
        defer { close(socket) }
        var timeout = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - timeoutSeconds.rounded(.down)) * 1e6))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var reader = SocketLineReader(socket: socket)
        func ask(_ line: String) throws -> String {
            guard LoadGenerator.writeAll(socket, Array((line + "\n").utf8)), let answer = reader.readLine() else {
                FileHandle.standardError.write(Data("flotilla status: no answer from \(address) to '\(line)'\n".utf8))
                throw ExitCode(2)
            }
            return String(decoding: answer, as: UTF8.self)
        }

        let first = try ask("STATUS \(shard ?? 1)")
        if first.hasPrefix("ERR UNKNOWN_SHARD"), shard != nil {
            FileHandle.standardError.write(Data("flotilla status: \(first)\n".utf8))
            throw ExitCode(2)
        }
        var shards: [UInt64]
        if let shard {
            shards = [shard]
        } else {
            let count = ClusterStatusTable.Answer(line: first).fields?["shards"].flatMap { UInt64($0) } ?? 0
            guard count > 0 else {
                FileHandle.standardError.write(Data("flotilla status: \(address) does not say how many shards there are: \(first)\n".utf8))
                throw ExitCode(2)
            }
            shards = Array(1...count)
        }
        var answers: [ClusterStatusTable.ShardAnswers] = []
        // A host that did not answer for one shard is not asked again: each try waits out a
        // relay timeout, and a cluster with a host down should still be shown at once.
        var unreachable: Set<UInt64> = []
        for number in shards {
            let overview = ClusterStatusTable.Answer(line: number == (shard ?? 1) ? first : try ask("STATUS \(number)"))
            var replicas: [(node: UInt64, answer: ClusterStatusTable.Answer)] = []
            for node in overview.fields.map(ClusterStatusTable.members(of:)) ?? [] {
                if unreachable.contains(node) {
                    replicas.append((node, .failed("ERR UNREACHABLE")))
                    continue
                }
                let line = try ask("STATUS \(number) \(node)")
                if line.hasPrefix("ERR NO_LEADER") || line.hasPrefix("ERR TIMEOUT") { unreachable.insert(node) }
                replicas.append((node, ClusterStatusTable.Answer(line: line)))
            }
            answers.append(.init(shard: number, overview: overview, replicas: replicas))
        }
        let table = ClusterStatusTable(shards: answers)
        print(table.rendered(), terminator: "")
        if !table.shardsWithoutLeader.isEmpty {
            FileHandle.standardError.write(Data("flotilla status: no leader in shard \(table.shardsWithoutLeader.map(String.init).joined(separator: ", "))\n".utf8))
            throw ExitCode(1)
        }
    }
}
