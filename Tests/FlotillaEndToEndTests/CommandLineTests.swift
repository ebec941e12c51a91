import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The command lines of `flotilla` and the other executables: a bad flag is refused with a
/// non-zero exit and a message naming it, `--help` works, and `serve` says plainly what is
/// wrong with a node id or a port.
final class CommandLineTests: EndToEndTestCase {
    /// The executables built next to `flotilla`, with a command line each that gets as far as parsing.
    var executables: [(name: String, prefix: [String])] {
        [("flotilla", []), ("flotilla", ["serve"]), ("flotilla", ["bench", "--addr", "127.0.0.1:1", "--ops", "1"]),
         ("flotilla", ["restore", "--data-dir", "\(root)/restored", "--node-id", "1", "--members", "1=127.0.0.1:1", "snapshot"]),
         ("flotilla", ["export", "--dir", root]), ("flotilla", ["certs", "--dir", "\(root)/certs", "--hosts", "1"]),
         ("flotilla-simulate", []), ("flotilla-placement-model", []), ("flotilla-host-benchmark", []), ("flotilla-host-benchmark", ["idle"]),
         ("flotilla-logstore-benchmark", ["--dir", root]), ("FlotillaLogStoreCrashWriter", ["crash", "--dir", root]),
         ("FlotillaLogStoreCrashWriter", ["disk-full", "--dir", root, "--file-size-bytes", "1"])]
    }

    func path(of executable: String) throws -> String {
        let path = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent(executable).path
        try check(FileManager.default.isExecutableFile(atPath: path), "\(executable) not built next to \(binary); run `swift build --build-tests`")
        return path
    }

    func testEveryExecutableRefusesAnUnknownFlagAndHasHelp() throws {
        for (name, prefix) in executables {
            let executable = try path(of: name)
            let refused = try runTool(executable, prefix + ["--no-such-flag", "1"], in: root, timeout: 30)
            try check(!refused.timedOut && refused.status != 0, "\(name) \(prefix) with an unknown flag: \(refused.text)")
            try check(refused.stderr.contains("--no-such-flag") && refused.stderr.contains("Usage"),
                      "\(name) \(prefix): the refusal should name the flag and show the usage: \(refused.text)")
            let help = try runTool(executable, prefix + ["--help"], in: root, timeout: 30)
            try check(help.status == 0 && help.stdout.contains("USAGE"), "\(name) \(prefix) --help: \(help.text)")
        }
    }

    /// Values the benchmarks used to ignore or misread are refused.
    func testBadValuesAreRefused() throws {
        let cases: [(String, [String])] = [
            ("flotilla-simulate", ["--seeds", "many"]),
            ("flotilla-simulate", ["--churn", "--no-membership-changes"]),
            ("flotilla-host-benchmark", ["proposals", "--store", "tape"]),
            ("flotilla-host-benchmark", ["unknown-mode"]),
            ("flotilla-logstore-benchmark", ["--seconds", "1"]),
            ("flotilla-logstore-benchmark", ["--dir", root, "--seconds", "0"]),
            ("FlotillaLogStoreCrashWriter", ["disk-full", "--dir", root]),
            ("flotilla", ["bench", "--addr", "127.0.0.1:1", "--ops", "10", "--rate", "0"]),
            ("flotilla", ["bench", "--addr", "127.0.0.1:1", "--ops", "10", "--protocol", "http"]),
            ("flotilla", ["serve", "--replicas", "0"]),
            ("flotilla-placement-model", ["--hosts", "0"]),
        ]
        for (name, arguments) in cases {
            let run = try runTool(try path(of: name), arguments, in: root, timeout: 30)
            try check(!run.timedOut && run.status != 0 && run.stderr.contains("Error"), "\(name) \(arguments) should be refused: \(run.text)")
        }
    }

    func testServeNamesABadNodeID() throws {
        let directory = "\(root)/node-zero"
        let run = try runTool(binary, ["serve", "--node-id", "0", "--data-dir", directory], in: root, timeout: 30)
        try check(!run.timedOut && run.status != 0, "serve --node-id 0: \(run.text)")
        try check(run.stderr.contains("--node-id must be a positive integer"), "the refusal should be about --node-id: \(run.text)")
        let first = run.stderr.split(separator: "\n").first ?? ""
        try check(!first.contains("--members"), "the refusal should not be about --members: \(run.text)")
        try check(!FileManager.default.fileExists(atPath: directory), "a refused command line should not create the data dir")
    }

    /// A port held by someone else, as the client port and as the raft port: the message names
    /// the flag, the address and the reason, in words.
    func testServeSaysWhichPortIsInUse() throws {
        let (holder, port) = try listeningSocket()
        defer { close(holder) }
        let taken = "127.0.0.1:\(port)"
        for (flag, raft, client) in [("--client-addr", "127.0.0.1:\(FreePort.next())", taken),
                                     ("--raft-addr", taken, "127.0.0.1:\(FreePort.next())")] {
            let run = try runTool(binary, ["serve", "--data-dir", "\(root)/\(flag.dropFirst(2))", "--raft-addr", raft,
                                           "--client-addr", client, "--redis-addr", "none", "--metrics-addr", "none"] + fastTicks,
                                   in: root, timeout: 30)
            try check(!run.timedOut && run.status != 0, "serve with \(flag) in use: \(run.text)")
            try check(run.stderr.contains("cannot listen on \(flag) \(taken): address already in use\n"),
                      "the message should be 'cannot listen on \(flag) \(taken): address already in use': \(run.text)")
            try check(!run.stderr.contains("bind(") && !run.stderr.contains("errno"), "no NIO internals in the message: \(run.text)")
        }
    }

    /// A socket listening on a free loopback port, and the port.
    func listeningSocket() throws -> (Int32, Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try check(bound == 0 && listen(descriptor, 1) == 0, "cannot listen on a free port")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }
}
