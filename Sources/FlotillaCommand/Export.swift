import ArgumentParser
import FlotillaServer
import FlotillaTransport
import Foundation

/// `flotilla export`: ask a running host to export one shard, or all, into a directory on its
/// disk (the `EXPORT` command, for operators).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export snapshots of a running host's shards to its disk.")

    @Option(name: .customLong("addr"), help: "The host's client address.")
    var address = "127.0.0.1:7301"

    @Option(name: .customLong("shard"), help: "One shard; all shards when omitted.")
    var shard: UInt64?

    @Option(name: .customLong("dir"), help: "Directory on the host's disk.")
    var directory: String

    @OptionGroup var tls: ToolTLSOptions

    func run() throws {
        let socket: Int32
        do {
            guard let (host, port) = splitHostPort(address) else { throw LoadGeneratorError.connection("'\(address)' is not HOST:PORT") }
            socket = try LoadGenerator.connect(host, port, tls: try tls.context())
        } catch {
            FileHandle.standardError.write(Data("flotilla export: cannot connect to \(address): \(error)\n".utf8))
            throw ExitCode(1)
        }
        defer { close(socket) }
        var reader = SocketLineReader(socket: socket)
        var failed = false
        var number = shard ?? 1
        while true {
            guard LoadGenerator.writeAll(socket, Array("EXPORT \(number) \(directory)\n".utf8)),
                  let line = reader.readLine() else {
                FileHandle.standardError.write(Data("flotilla export: connection closed\n".utf8))
                throw ExitCode(1)
            }
            let answer = String(decoding: line, as: UTF8.self)
            if shard == nil && answer.hasPrefix("ERR UNKNOWN_SHARD") && answer.contains("out of range") { break }
            print("shard \(number): \(answer)")
            if answer.hasPrefix("ERR") { failed = true }
            if shard != nil { break }
            number += 1
        }
        if failed { throw ExitCode(1) }
    }
}
