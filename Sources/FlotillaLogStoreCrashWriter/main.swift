import FlotillaLogStore
import FlotillaRaft
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process for the log store's crash and disk-full tests.
///
/// `crash --dir D`: writers write `CrashWorkload` batches in a loop (half through the async API,
/// half through the synchronous one) and print `durable <writer> <batch>` after each write
/// returns; the test SIGKILLs the process at some point and checks the store.
///
/// `disk-full --dir D --file-size-bytes N`: limits the size of files this process may write
/// (RLIMIT_FSIZE, so the kernel refuses like a full disk would), writes until refused, prints the
/// error, checks that the store still reads, lifts the limit and writes again.
let arguments = CommandLine.arguments
func argument(_ name: String) -> String? {
    guard let position = arguments.firstIndex(of: name), position + 1 < arguments.count else { return nil }
    return arguments[position + 1]
}

let outputLock = NSLock()
func report(_ line: String) {
    outputLock.lock()
    defer { outputLock.unlock() }
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

guard arguments.count >= 2, let directory = argument("--dir") else {
    FileHandle.standardError.write(Data("usage: FlotillaLogStoreCrashWriter crash|disk-full --dir DIR [--file-size-bytes N]\n".utf8))
    exit(2)
}

let store: LogStore
do {
    store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: CrashWorkload.nodeID))
} catch {
    report("open-failed \(error)")
    exit(1)
}

switch arguments[1] {
case "crash":
    report("open")
    for writer in 0..<CrashWorkload.writers where writer % 2 == 1 {
        let thread = Thread {
            var number = 0
            while true {
                do {
                    try store.writeSynchronously(CrashWorkload.batch(writer: writer, number: number))
                    report("durable \(writer) \(number)")
                    number += 1
                } catch {
                    report("error \(error)")
                    exit(1)
                }
            }
        }
        thread.start()
    }
    await withTaskGroup(of: Void.self) { group in
        for writer in 0..<CrashWorkload.writers where writer % 2 == 0 {
            group.addTask {
                var number = 0
                while true {
                    do {
                        try await store.write(CrashWorkload.batch(writer: writer, number: number))
                        report("durable \(writer) \(number)")
                        number += 1
                    } catch {
                        report("error \(error)")
                        exit(1)
                    }
                }
            }
        }
    }

case "disk-full":
    guard let limitText = argument("--file-size-bytes"), let limit = UInt64(limitText) else { exit(2) }
    signal(SIGXFSZ, SIG_IGN)
    var original = rlimit()
    getrlimit(fileSizeResource, &original)
    var limited = original
    limited.rlim_cur = rlim_t(limit)
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
            exit(1)
        }
    }
    guard refused else { report("never refused"); exit(1) }
    do {
        let bounds = try store.bounds(shard: CrashWorkload.shards(ofWriter: 0)[0], replica: ReplicaID(CrashWorkload.nodeID))
        report("readable \(bounds.lastIndex)")
        setrlimit(fileSizeResource, &original)
        try store.writeSynchronously(CrashWorkload.batch(writer: 0, number: number, compacts: false))
        report("recovered \(number)")
    } catch {
        report("unexpected \(error)")
        exit(1)
    }
    store.close()

default:
    exit(2)
}
