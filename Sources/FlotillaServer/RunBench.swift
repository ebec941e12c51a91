import Foundation

/// `flotilla bench`'s options (SPEC "flotilla bench").
public typealias BenchOptions = LoadGenerator.Options

/// `flotilla bench`'s outcome; `summaryLine` is its last line,
/// `ops/s=<n> p50_ms=<x> p99_ms=<y> p999_ms=<z> errors=<n>`.
public typealias BenchResult = LoadGenerator.Result

/// Runs the load generator from async code. The generator drives blocking sockets on threads
/// of its own; the wait for it happens on one more thread, never on a thread of Swift's
/// cooperative pool, which a blocking wait would starve.
public func runBench(_ options: BenchOptions, progress: @escaping @Sendable (String) -> Void) async throws -> BenchResult {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try LoadGenerator(options: options).run(progress: progress) })
        }
        thread.start()
    }
}
