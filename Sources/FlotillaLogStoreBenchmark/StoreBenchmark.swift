import FlotillaLogStore
import FlotillaRaft
import Foundation

/// Durable batches/s and entries/s of the store for one shape of batch.
///
/// Each caller owns `shards` replicas and writes batches that append `entriesPerShard` entries
/// to each of them, waiting for each batch to be durable before writing the next, as a Raft
/// engine's step loop does. Every 16th batch also compacts each log up to the batch before, so
/// that the store runs in its steady state (LMDB reusing freed pages) rather than only growing.
/// With one caller every batch is its own transaction and pays a commit plus a sync; with two,
/// one caller's batch commits while the other's waits, so each commit's sync also makes the
/// previous one durable.
struct StoreBenchmark {
    struct Configuration: CustomStringConvertible {
        let shards: Int
        let entriesPerShard: Int
        let payloadBytes: Int
        let callers: Int

        var description: String {
            "shards=\(shards) entries/shard=\(entriesPerShard) payload=\(payloadBytes)B callers=\(callers)"
        }

        var batchBytes: Int { shards * entriesPerShard * (payloadBytes + 32) }
    }

    struct Result {
        let configuration: Configuration
        let batches: Int
        let transactions: Int
        let seconds: Double
        let fileSizeBytes: Int

        var batchesPerSecond: Double { Double(batches) / seconds }
        var transactionsPerSecond: Double { Double(transactions) / seconds }
        var entriesPerSecond: Double { Double(batches * configuration.shards * configuration.entriesPerShard) / seconds }
        var payloadBytesPerSecond: Double { entriesPerSecond * Double(configuration.payloadBytes) }
    }

    let directory: String
    let seconds: Double
    /// Each configuration also stops after writing this many bytes, so that the large batches do
    /// not write gigabytes (and exhaust a virtual disk's write budget) to measure a rate.
    var bytesBudget = 512 << 20

    func run(_ configuration: Configuration) async throws -> Result {
        let storeDirectory = directory + "/store-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: storeDirectory) }
        var storeConfiguration = LogStoreConfiguration(nodeID: 1)
        storeConfiguration.mapSizeBytesInitial = 1 << 30
        let store = try LogStore(directory: storeDirectory, configuration: storeConfiguration)
        defer { store.close() }
        let payload = [UInt8](repeating: 0x42, count: configuration.payloadBytes)

        // One unmeasured batch per caller (when cheap) so that first-touch costs do not count.
        let warmUp = configuration.batchBytes < (1 << 20)
        let startBatch = warmUp ? 1 : 0
        if warmUp {
            for caller in 0..<configuration.callers {
                try await store.write(batch(configuration, caller: caller, number: 0, payload: payload))
            }
        }
        let transactionsBefore = store.transactionCount
        let start = Clock.now()
        let deadline = start + seconds
        let bytesPerCaller = bytesBudget / configuration.callers
        let batches = try await withThrowingTaskGroup(of: Int.self) { group in
            for caller in 0..<configuration.callers {
                group.addTask {
                    var number = startBatch
                    repeat {
                        try await store.write(batch(configuration, caller: caller, number: number, payload: payload))
                        number += 1
                    } while Clock.now() < deadline && (number - startBatch) * configuration.batchBytes < bytesPerCaller
                    return number - startBatch
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = Clock.now() - start
        return Result(configuration: configuration, batches: batches, transactions: store.transactionCount - transactionsBefore,
                      seconds: elapsed, fileSizeBytes: store.fileSizeBytes)
    }

    private func batch(_ configuration: Configuration, caller: Int, number: Int, payload: [UInt8]) -> WriteBatch {
        var batch = WriteBatch()
        batch.updates.reserveCapacity(configuration.shards)
        let perShard = UInt64(configuration.entriesPerShard)
        let first = UInt64(number) * perShard + 1
        for shardOffset in 0..<configuration.shards {
            let shard = ShardID(UInt64(caller * configuration.shards + shardOffset + 1))
            var entries = [StoredEntry]()
            entries.reserveCapacity(configuration.entriesPerShard)
            for index in first..<first + perShard {
                entries.append(StoredEntry(index: LogIndex(index), term: Term(1), payload: payload))
            }
            var update = ReplicaUpdate(shard: shard, replica: ReplicaID(1), entries: entries)
            if number % 16 == 15 {
                update.compaction = LogPosition(index: LogIndex(first - perShard - 1), term: Term(1))
            }
            batch.append(update)
        }
        return batch
    }
}
