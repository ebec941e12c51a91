import ArgumentParser
import FlotillaLogStore
import Foundation

/// `flotilla-logstore-benchmark --dir DIR [--seconds S] [--quick]`
///
/// Measures, on the disk holding DIR: the raw rate of 4 KiB write + fdatasync, then the log
/// store's durable batches/s and entries/s for 1, 16 and 256 shards per batch, 1 to 1,000
/// entries per shard, 16-byte and 1 KiB payloads, with one caller and with two. Each
/// configuration runs for S seconds (default 1), so the whole run takes a few minutes.
@main
struct LogStoreBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flotilla-logstore-benchmark",
        abstract: "Durable batches/s and entries/s of the LMDB log store, next to the disk's raw fdatasync rate.")

    @Option(name: .customLong("dir"), help: "A directory on the disk to measure (created if missing).")
    var directory: String

    @Option(name: .customLong("seconds"), help: "Seconds for each configuration.")
    var seconds = 1.0

    @Flag(name: .customLong("quick"), help: "Fewer configurations: 1 and 256 shards, 1 and 1,000 entries per shard.")
    var quick = false

    func validate() throws {
        guard seconds > 0 && seconds.isFinite else { throw ValidationError("--seconds must be positive") }
    }

    /// Prints at once even when stdout is a pipe, so that progress shows while the benchmark runs.
    func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    func formatted(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }

    func run() async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        emit("disk: \(directory)")
        let raw = try RawSyncBenchmark.run(directory: directory, seconds: max(seconds, 2))
        emit("raw 4 KiB write+fdatasync: overwrite \(formatted(raw.overwritesPerSecond))/s, append \(formatted(raw.appendsPerSecond))/s")

        let benchmark = StoreBenchmark(directory: directory, seconds: seconds)
        let shardCounts = quick ? [1, 256] : [1, 16, 256]
        let entryCounts = quick ? [1, 1000] : [1, 10, 100, 1000]
        emit("shards entries/shard payload callers   batches/s  txns/s   entries/s     MB/s  file-MB")
        var results = [StoreBenchmark.Result]()
        // The disk's rate drifts (other tenants, write-back), so the batch rate is compared with a raw
        // measurement taken right before it, not only with the one at the start.
        var rawNearSmallestBatches = [Double]()
        // Smallest batches first: they measure the sync rate, and the disk of a virtual machine often
        // slows down for a while (a throttled write budget) after the large batches wrote gigabytes.
        var configurations = [StoreBenchmark.Configuration]()
        for payloadBytes in [16, 1024] {
            for shards in shardCounts {
                for entries in entryCounts {
                    for callers in [1, 2] {
                        configurations.append(StoreBenchmark.Configuration(
                            shards: shards, entriesPerShard: entries, payloadBytes: payloadBytes, callers: callers))
                    }
                }
            }
        }
        configurations.sort { ($0.batchBytes, $0.callers) < ($1.batchBytes, $1.callers) }
        for configuration in configurations {
            if configuration.shards == 1 && configuration.entriesPerShard == 1 {
                let near = try RawSyncBenchmark.run(directory: directory, seconds: seconds)
                rawNearSmallestBatches.append(near.overwritesPerSecond)
                emit("  (raw 4 KiB write+fdatasync just before: overwrite \(formatted(near.overwritesPerSecond))/s, append \(formatted(near.appendsPerSecond))/s)")
            }
            let result = try await benchmark.run(configuration)
            results.append(result)
            let line = [
                String(configuration.shards).padding(toLength: 7, withPad: " ", startingAt: 0),
                String(configuration.entriesPerShard).padding(toLength: 14, withPad: " ", startingAt: 0),
                "\(configuration.payloadBytes)B".padding(toLength: 8, withPad: " ", startingAt: 0),
                String(configuration.callers).padding(toLength: 8, withPad: " ", startingAt: 0),
                formatted(result.batchesPerSecond).padding(toLength: 11, withPad: " ", startingAt: 0),
                formatted(result.transactionsPerSecond).padding(toLength: 9, withPad: " ", startingAt: 0),
                formatted(result.entriesPerSecond).padding(toLength: 14, withPad: " ", startingAt: 0),
                formatted(result.payloadBytesPerSecond / 1e6).padding(toLength: 9, withPad: " ", startingAt: 0),
                formatted(Double(result.fileSizeBytes) / 1e6),
            ].joined()
            emit(line)
        }

        let smallest = results.filter { $0.configuration.shards == 1 && $0.configuration.entriesPerShard == 1 }
        let bestEntryRate = results.filter { $0.configuration.payloadBytes == 16 }.map(\.entriesPerSecond).max() ?? 0
        for (position, result) in smallest.enumerated() {
            let near = rawNearSmallestBatches[position]
            let batchShare = Int((result.batchesPerSecond / near * 100).rounded())
            let transactionShare = Int((result.transactionsPerSecond / near * 100).rounded())
            emit("summary: 1 shard x 1 entry, \(result.configuration.payloadBytes)B, \(result.configuration.callers) caller(s): "
                + "\(formatted(result.batchesPerSecond)) batches/s (\(batchShare)%), \(formatted(result.transactionsPerSecond)) txns/s "
                + "(\(transactionShare)%) of the raw overwrite rate measured just before (\(formatted(near))/s)")
        }
        emit("summary: best durable 16-byte entry rate \(formatted(bestEntryRate))/s")
    }
}
