import ArgumentParser
import FlotillaLogStore
import Foundation

/// A child process for the log store's crash and disk-full tests (`crash`, `disk-full`). It
/// reports on standard output, one line per event, flushed at once, because the test reads
/// the lines while the child runs and may SIGKILL it at any moment.
@main
struct CrashWriterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "FlotillaLogStoreCrashWriter",
        abstract: "Writes the crash tests' workload into a log store and reports each durable batch.",
        subcommands: [CrashMode.self, DiskFullMode.self])

    static let outputLock = NSLock()

    /// One line to the test, written at once and whole even from several threads.
    static func report(_ line: String) {
        outputLock.lock()
        defer { outputLock.unlock() }
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// The store in `directory`; a failure is reported as `open-failed` and ends the process with status 1.
    static func openStore(_ directory: String) throws -> LogStore {
        do {
            return try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: CrashWorkload.nodeID))
        } catch {
            report("open-failed \(error)")
            throw ExitCode(1)
        }
    }
}
