import FlotillaRaft
import XCTest

@testable import FlotillaLogStore
import FlotillaLogStoreCrashWriter

/// Checks a store written by the crash writer's `CrashWorkload`.
enum CrashWorkloadChecker {
    /// Parses a `durable <writer> <batch>` line; returns 1 when it was one.
    static func record(_ line: String, into durable: inout [Int: Int]) throws -> Int {
        let parts = line.split(separator: " ")
        guard parts.first == "durable" else {
            XCTFail("child reported: \(line)")
            return 0
        }
        let writer = try XCTUnwrap(Int(parts[1]))
        let batch = try XCTUnwrap(Int(parts[2]))
        durable[writer] = max(durable[writer] ?? -1, batch)
        return 1
    }

    /// `durableBatches[writer]` is the highest batch number reported durable (or the number of
    /// batches written, for the disk-full child: batches `0..<n` then batch `n` again).
    static func check(_ store: LogStore, durableBatches: [Int: Int], file: StaticString = #filePath, line: UInt = #line) throws {
        let replica = ReplicaID(CrashWorkload.nodeID)
        let recovered = try store.recoverReplicas()
        for replicaState in recovered {
            let shard = replicaState.shard
            let bounds = replicaState.bounds
            XCTAssertEqual(replicaState.replica, replica, file: file, line: line)
            XCTAssertEqual(replicaState.record, StoredReplicaRecord(role: .voter, origin: .bootstrap), file: file, line: line)
            // Whole batches only: a batch is one transaction.
            XCTAssertEqual(bounds.lastIndex.rawValue % UInt64(CrashWorkload.entriesPerBatch), 0, "shard \(shard)", file: file, line: line)
            XCTAssertEqual(replicaState.hardState?.commit, bounds.lastIndex, "shard \(shard)", file: file, line: line)
            XCTAssertEqual(bounds.compacted.term, bounds.compacted.index == .zero ? .zero : CrashWorkload.term(at: bounds.compacted.index),
                           file: file, line: line)
            var next = bounds.firstIndex
            while next <= bounds.lastIndex {
                let entries = try store.entries(shard: shard, replica: replica, from: next, through: bounds.lastIndex, byteLimit: 64 << 10)
                for entry in entries {
                    guard entry.index == next, entry.term == CrashWorkload.term(at: next),
                          entry.payload == CrashWorkload.payload(shard: shard, index: next) else {
                        XCTFail("shard \(shard): entry \(next) is wrong: \(entry)", file: file, line: line)
                        return
                    }
                    next = next.next
                }
            }
        }
        for (writer, batch) in durableBatches {
            for shard in CrashWorkload.shards(ofWriter: writer) {
                let bounds = try store.bounds(shard: shard, replica: replica)
                XCTAssertGreaterThanOrEqual(bounds.lastIndex.rawValue, UInt64((batch + 1) * CrashWorkload.entriesPerBatch),
                                            "writer \(writer) reported batch \(batch) durable; shard \(shard) lost it", file: file, line: line)
            }
        }
    }
}
