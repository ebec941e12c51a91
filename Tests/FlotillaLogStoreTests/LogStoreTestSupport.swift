import FlotillaRaft
import Foundation
import XCTest

@testable import FlotillaLogStore

/// A fresh directory under the system temporary directory, removed when the test ends.
func makeTemporaryDirectory(_ testCase: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "flotilla-logstore-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

func makeEntries(_ range: ClosedRange<UInt64>, term: UInt64, payloadBytes: Int = 16) -> [StoredEntry] {
    range.map { index in
        StoredEntry(index: LogIndex(index), term: Term(term),
                    payload: (0..<payloadBytes).map { UInt8(truncatingIfNeeded: index &+ UInt64($0)) })
    }
}

func append(_ entries: [StoredEntry], shard: UInt64 = 1, replica: UInt64 = 1) -> WriteBatch {
    WriteBatch(updates: [ReplicaUpdate(shard: ShardID(shard), replica: ReplicaID(replica), entries: entries)])
}

/// Asserts that `body` throws a `LogStoreError` matching `matches`.
func assertThrowsLogStoreError<Result>(
    _ body: @autoclosure () throws -> Result, file: StaticString = #filePath, line: UInt = #line,
    _ matches: (LogStoreError) -> Bool
) {
    do {
        _ = try body()
        XCTFail("expected a LogStoreError", file: file, line: line)
    } catch let error as LogStoreError {
        XCTAssertTrue(matches(error), "unexpected error: \(error)", file: file, line: line)
        XCTAssertFalse(error.description.isEmpty, file: file, line: line)
    } catch {
        XCTFail("unexpected error type: \(error)", file: file, line: line)
    }
}

/// The crash-writer child, built into the same products directory as the test bundle.
func crashWriterExecutable() throws -> URL {
    let testExecutable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0])
    var directory = testExecutable.deletingLastPathComponent()
    // On macOS the test binary sits inside an .xctest bundle.
    while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS" || directory.lastPathComponent == "Contents" {
        directory.deleteLastPathComponent()
    }
    let executable = directory.appendingPathComponent("FlotillaLogStoreCrashWriter")
    guard FileManager.default.isExecutableFile(atPath: executable.path) else {
        // `swift build --build-tests` builds it; a missing child must fail, not skip, the tests.
        throw LogStoreTestFailure("crash writer not built at \(executable.path); run `swift build --build-tests`")
    }
    return executable
}

/// A running child process whose standard output is read line by line.
final class ChildProcess {
    let process = Process()
    private let output = Pipe()
    private var buffer = Data()

    init(arguments: [String]) throws {
        process.executableURL = try crashWriterExecutable()
        process.arguments = arguments
        process.standardOutput = output
        try process.run()
    }

    /// The next line the child printed, or nil at end of output (the child exited).
    func nextLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { kill() }
    }
}

/// A test precondition that did not hold: thrown, it fails the test with its message.
struct LogStoreTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
