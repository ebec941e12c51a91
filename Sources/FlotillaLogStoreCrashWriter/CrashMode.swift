import ArgumentParser
import FlotillaLogStore
import Foundation

/// `crash --dir D`: writers write `CrashWorkload` batches in a loop (half through the async API,
/// half through the synchronous one) and print `durable <writer> <batch>` after each write
/// returns; the test SIGKILLs the process at some point and checks the store.
struct CrashMode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash", abstract: "Write batches until killed, reporting each durable one.")

    @Option(name: .customLong("dir"), help: "The log store's directory.")
    var directory: String

    func run() async throws {
        let store = try CrashWriterCommand.openStore(directory)
        CrashWriterCommand.report("open")
        for writer in 0..<CrashWorkload.writers where writer % 2 == 1 {
            let thread = Thread {
                var number = 0
                while true {
                    do {
                        try store.writeSynchronously(CrashWorkload.batch(writer: writer, number: number))
                        CrashWriterCommand.report("durable \(writer) \(number)")
                        number += 1
                    } catch {
                        CrashWriterCommand.report("error \(error)")
                        Foundation.exit(1)
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
                            CrashWriterCommand.report("durable \(writer) \(number)")
                            number += 1
                        } catch {
                            CrashWriterCommand.report("error \(error)")
                            Foundation.exit(1)
                        }
                    }
                }
            }
        }
    }
}
