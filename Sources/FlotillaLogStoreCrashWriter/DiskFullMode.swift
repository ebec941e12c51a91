import ArgumentParser
import FlotillaLogStore
import FlotillaRaft
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `disk-full --dir D --file-size-bytes N`: limits the size of files this process may write
/// (RLIMIT_FSIZE, so the kernel refuses like a full disk would), writes until refused, prints the
/// error, checks that the store still reads, lifts the limit and writes again.
struct DiskFullMode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disk-full", abstract: "Write into a file size limit, then recover once it is lifted.")

    @Option(name: .customLong("dir"), help: "The log store's directory.")
    var directory: String

    @Option(name: .customLong("file-size-bytes"), help: "The largest file this process may write while the disk is 'full'.")
    var fileSizeBytes: UInt64

    func run() throws {
        let store = try CrashWriterCommand.openStore(directory)
        let report = CrashWriterCommand.report
        signal(SIGXFSZ, SIG_IGN)
        var original = rlimit()
        getrlimit(fileSizeResource, &original)
        var limited = original
        limited.rlim_cur = rlim_t(fileSizeBytes)
        setrlimit(fileSizeResource, &limited)
        var number = 0
        var refused = false
        while number < 100_000 {
            do {
                try store.writeSynchronously(CrashWorkload.batch(writer: 0, number: number, compacts: false))
                number += 1
            } catch let error as LogStoreError {
                if case .diskFull = error { report("disk-full \(number) \(error)") } else { report("unexpected \(error)") }
                refused = true
                break
            } catch {
                report("unexpected \(error)")
                throw ExitCode(1)
            }
        }
        guard refused else {
            report("never refused")
            throw ExitCode(1)
        }
        do {
            let bounds = try store.bounds(shard: CrashWorkload.shards(ofWriter: 0)[0], replica: ReplicaID(CrashWorkload.nodeID))
            report("readable \(bounds.lastIndex)")
            setrlimit(fileSizeResource, &original)
            try store.writeSynchronously(CrashWorkload.batch(writer: 0, number: number, compacts: false))
            report("recovered \(number)")
        } catch {
            report("unexpected \(error)")
            throw ExitCode(1)
        }
        store.close()
    }
}
