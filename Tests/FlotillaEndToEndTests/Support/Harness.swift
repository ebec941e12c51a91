import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds the `flotilla` executable built next to this test bundle.
enum FlotillaBinary {
    static let lock = NSLock()
    nonisolated(unsafe) static var cached: String?

    /// The binary's path, or a message saying how to build it.
    static func locate(filePath: String = #filePath) -> Result<String, LocateError> {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return .success(cached) }
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["FLOTILLA_BINARY"] {
            candidates.append(URL(fileURLWithPath: override))
        }
        // The test binary (Linux: `<scratch>/debug/FlotillaPackageTests.xctest`, macOS: a bundle
        // inside `<scratch>/debug/`) sits in the same directory as the products.
        var directories: [URL] = []
        let argument0 = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        directories.append(argument0.deletingLastPathComponent())
        for bundle in [Bundle.main, Bundle(for: EndToEndTestCase.self)] {
            var url = bundle.bundleURL.resolvingSymlinksInPath()
            for _ in 0..<4 {
                directories.append(url)
                url = url.deletingLastPathComponent()
            }
        }
        // Last resort: the package's default scratch paths, relative to this source file.
        let packageRoot = URL(fileURLWithPath: filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        directories.append(packageRoot.appendingPathComponent(".build/debug"))
        directories.append(packageRoot.appendingPathComponent(".build-e2e/debug"))
        candidates += directories.map { $0.appendingPathComponent("flotilla") }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.path) {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                cached = candidate.path
                return .success(candidate.path)
            }
        }
        return .failure(LocateError(searched: candidates.map(\.path)))
    }

    struct LocateError: Error, CustomStringConvertible {
        let searched: [String]
        var description: String {
            "the flotilla executable was not found next to the test bundle; build it first with "
                + "`swift build --product flotilla` (or `swift build --build-tests`, which builds every product), "
                + "or set FLOTILLA_BINARY. Looked at: \(searched.joined(separator: ", "))"
        }
    }
}

/// Free TCP ports on 127.0.0.1: bind port 0, read the port the kernel chose, close. Ports are
/// never handed out twice by one test process.
enum FreePort {
    static let lock = NSLock()
    nonisolated(unsafe) static var handedOut = Set<Int>()

    static func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        while true {
            let port = probe()
            if port > 0 && !handedOut.contains(port) {
                handedOut.insert(port)
                return port
            }
        }
    }

    private static func probe() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return -1 }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return -1 }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Polls `condition` every `interval` seconds until it holds or `timeout` seconds pass.
@discardableResult
func eventually(timeout: Double, interval: Double = 0.05, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if condition() { return true }
        if Date() >= deadline { return false }
        Thread.sleep(forTimeInterval: interval)
    }
}

/// The shard of a key (SPEC: `1 + fnv1a64(key) mod K`).
func shardOf(_ key: String, shards: Int) -> Int {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in Array(key.utf8) {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return 1 + Int(hash % UInt64(shards))
}

/// `count` keys `prefix-N` that live in `shard`.
func keys(inShard shard: Int, shards: Int, prefix: String, count: Int) -> [String] {
    var result: [String] = []
    var number = 0
    while result.count < count {
        let key = "\(prefix)-\(number)"
        if shardOf(key, shards: shards) == shard { result.append(key) }
        number += 1
    }
    return result
}

/// Parses a `STATUS` line into its `name=value` pairs.
func statusFields(_ line: String?) -> [String: String] {
    guard let line, !line.hasPrefix("ERR") else { return [:] }
    var fields: [String: String] = [:]
    for pair in line.split(separator: " ") {
        guard let equals = pair.firstIndex(of: "=") else { continue }
        fields[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
    }
    return fields
}

func idList(_ text: String?) -> Set<Int> {
    Set((text ?? "").split(separator: ",").compactMap { Int($0) })
}
