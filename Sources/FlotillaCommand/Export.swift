import ArgumentParser
import FlotillaServer
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

    func run() throws {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              let socket = LoadGenerator.connect(String(address[..<colon]), port) else {
            FileHandle.standardError.write(Data("flotilla export: cannot connect to \(address)\n".utf8))
            throw ExitCode(1)
        }
        var reader = LineClient(socket: socket)
        var failed = false
        var number = shard ?? 1
        while true {
            guard let answer = reader.call("EXPORT \(number) \(directory)") else {
                FileHandle.standardError.write(Data("flotilla export: connection closed\n".utf8))
                throw ExitCode(1)
            }
            if shard == nil && answer.hasPrefix("ERR UNKNOWN_SHARD") && answer.contains("out of range") { break }
            print("shard \(number): \(answer)")
            if answer.hasPrefix("ERR") { failed = true }
            if shard != nil { break }
            number += 1
        }
        if failed { throw ExitCode(1) }
    }
}

/// One request, one answer, on a blocking socket.
struct LineClient {
    let socket: Int32
    private var buffer: [UInt8] = []

    init(socket: Int32) { self.socket = socket }

    mutating func call(_ line: String) -> String? {
        guard LoadGenerator.writeAll(socket, Array((line + "\n").utf8)) else { return nil }
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let answer = String(decoding: buffer[0..<newline], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return answer
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }
}
