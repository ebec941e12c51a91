import FlotillaRaft
import Foundation
import XCTest

@testable import FlotillaLogStore

final class LogStoreGroupCommitTests: XCTestCase {
    /// Waits until the writer holds `count` queued batches: a condition, polled, not a guess.
    private func waitForQueue(_ store: LogStore, count: Int) throws {
        let deadline = Date().addingTimeInterval(10)
        while store.writer.queuedRequestCount < count {
            guard Date() < deadline else { throw LogStoreTestFailure("only \(store.writer.queuedRequestCount) of \(count) batches reached the writer queue in 10 s") }
            sched_yield()
        }
    }

    func testBatchesQueuedTogetherShareOneTransaction() async throws {
        let store = try LogStore(directory: try makeTemporaryDirectory(self), configuration: LogStoreConfiguration(nodeID: 1))
        let before = store.transactionCount
        store.writer.suspend()
        let asyncWriters = 40
        let threadWriters = 4
        let threadsDone = DispatchGroup()
        let threadFailures = NSLock()
        nonisolated(unsafe) var failures = [String]()
        for writer in 0..<threadWriters {
            threadsDone.enter()
            Thread {
                do {
                    try store.writeSynchronously(append(makeEntries(1...3, term: 1), shard: UInt64(100 + writer)))
                } catch {
                    threadFailures.lock()
                    failures.append("\(error)")
                    threadFailures.unlock()
                }
                threadsDone.leave()
            }.start()
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<asyncWriters {
                group.addTask { try await store.write(append(makeEntries(1...3, term: 1), shard: UInt64(writer + 1))) }
            }
            try waitForQueue(store, count: asyncWriters + threadWriters)
            store.writer.resume()
            try await group.waitForAll()
        }
        threadsDone.wait()
        XCTAssertEqual(failures, [])
        XCTAssertEqual(store.transactionCount - before, 1)
        for shard in Array(1...UInt64(asyncWriters)) + Array(100..<UInt64(100 + threadWriters)) {
            XCTAssertEqual(try store.bounds(shard: ShardID(shard), replica: ReplicaID(1)).lastIndex, LogIndex(3))
        }
    }

    func testAFullQueueThrowsBusy() async throws {
        var configuration = LogStoreConfiguration(nodeID: 1)
        configuration.writeQueueRequestsMax = 2
        let store = try LogStore(directory: try makeTemporaryDirectory(self), configuration: configuration)
        store.writer.suspend()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for shard in 1...2 as ClosedRange<UInt64> {
                group.addTask { try await store.write(append(makeEntries(1...1, term: 1), shard: shard)) }
            }
            try waitForQueue(store, count: 2)
            assertThrowsLogStoreError(try store.writeSynchronously(append(makeEntries(1...1, term: 1), shard: 3))) {
                if case .busy(queuedRequests: 2, _) = $0 { return true } else { return false }
            }
            store.writer.resume()
            try await group.waitForAll()
        }
        XCTAssertEqual(try store.bounds(shard: ShardID(2), replica: ReplicaID(1)).lastIndex, LogIndex(1))
        XCTAssertEqual(try store.bounds(shard: ShardID(3), replica: ReplicaID(1)), .empty)
    }

    func testConcurrentWritersAllBecomeDurableInOrder() async throws {
        let directory = try makeTemporaryDirectory(self)
        let writers = 8
        let batchesPerWriter: UInt64 = 40
        do {
            let store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 1))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 1...UInt64(writers) {
                    group.addTask {
                        for batch in 0..<batchesPerWriter {
                            try await store.write(append(makeEntries(batch * 5 + 1...batch * 5 + 5, term: 1), shard: writer))
                        }
                    }
                }
                try await group.waitForAll()
            }
            XCTAssertLessThanOrEqual(store.transactionCount, writers * Int(batchesPerWriter) + 1)
            store.close()
        }
        let store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 1))
        for writer in 1...UInt64(writers) {
            XCTAssertEqual(try store.entries(shard: ShardID(writer), replica: ReplicaID(1), from: LogIndex(1),
                                             through: LogIndex(1000), byteLimit: .max),
                           makeEntries(1...batchesPerWriter * 5, term: 1))
        }
    }
}
