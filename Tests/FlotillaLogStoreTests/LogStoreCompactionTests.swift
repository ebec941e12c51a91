import FlotillaRaft
import XCTest

@testable import FlotillaLogStore

final class LogStoreCompactionTests: XCTestCase {
    private let shard = ShardID(1)
    private let replica = ReplicaID(1)

    private func compaction(_ index: UInt64, _ term: UInt64) -> WriteBatch {
        WriteBatch(updates: [ReplicaUpdate(shard: shard, replica: replica, compaction: LogPosition(index: LogIndex(index), term: Term(term)))])
    }

    func testCompactionDropsThePrefixAndKeepsItsLastTerm() async throws {
        let directory = try makeTemporaryDirectory(self)
        do {
            let store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 1))
            try await store.write(append(makeEntries(1...10, term: 3)))
            try await store.write(compaction(5, 3))
            store.close()
        }
        let store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 1))
        let bounds = try store.bounds(shard: shard, replica: replica)
        XCTAssertEqual(bounds, LogBounds(compacted: LogPosition(index: LogIndex(5), term: Term(3)), lastIndex: LogIndex(10)))
        XCTAssertEqual(bounds.firstIndex, LogIndex(6))
        XCTAssertEqual(bounds.entryCount, 5)
        XCTAssertEqual(try store.term(shard: shard, replica: replica, at: LogIndex(5)), Term(3))
        XCTAssertNil(try store.term(shard: shard, replica: replica, at: LogIndex(4)))
        assertThrowsLogStoreError(try store.entries(shard: shard, replica: replica, from: LogIndex(5), through: LogIndex(10), byteLimit: .max)) {
            $0 == .compacted(shard: ShardID(1), replica: ReplicaID(1), index: LogIndex(5), firstIndex: LogIndex(6))
        }
        XCTAssertEqual(try store.entries(shard: shard, replica: replica, from: LogIndex(6), through: LogIndex(10), byteLimit: .max),
                       makeEntries(6...10, term: 3))
        // An older compaction changes nothing; appending into the compacted prefix is refused.
        try await store.write(compaction(2, 3))
        XCTAssertEqual(try store.bounds(shard: shard, replica: replica), bounds)
        assertThrowsLogStoreError(try store.writeSynchronously(append(makeEntries(5...6, term: 4)))) {
            if case .invalidAppend = $0 { return true } else { return false }
        }
        try await store.write(append(makeEntries(6...6, term: 4)))
        XCTAssertEqual(try store.bounds(shard: shard, replica: replica).lastIndex, LogIndex(6))
    }

    func testASnapshotThatDisagreesWithTheLogReplacesIt() async throws {
        let store = try LogStore(directory: try makeTemporaryDirectory(self), configuration: LogStoreConfiguration(nodeID: 1))
        try await store.write(append(makeEntries(1...10, term: 1)))
        // The leader's snapshot ends at 8 with term 2: entry 8 here has term 1, so the log goes.
        try await store.write(WriteBatch(updates: [ReplicaUpdate(
            shard: shard, replica: replica, compaction: LogPosition(index: LogIndex(8), term: Term(2)),
            snapshot: StoredSnapshotRecord(index: LogIndex(8), term: Term(2), membership: [1]))]))
        XCTAssertEqual(try store.bounds(shard: shard, replica: replica),
                       LogBounds(compacted: LogPosition(index: LogIndex(8), term: Term(2)), lastIndex: LogIndex(8)))
        XCTAssertNil(try store.term(shard: shard, replica: replica, at: LogIndex(9)))
        // A snapshot past the end of the log, with the entries after it, in one update.
        try await store.write(WriteBatch(updates: [ReplicaUpdate(
            shard: shard, replica: replica, compaction: LogPosition(index: LogIndex(20), term: Term(3)),
            entries: makeEntries(21...22, term: 3))]))
        XCTAssertEqual(try store.bounds(shard: shard, replica: replica),
                       LogBounds(compacted: LogPosition(index: LogIndex(20), term: Term(3)), lastIndex: LogIndex(22)))
        XCTAssertEqual(try store.entries(shard: shard, replica: replica, from: LogIndex(21), through: LogIndex(30), byteLimit: .max),
                       makeEntries(21...22, term: 3))
    }

    /// LMDB never shrinks its file but reuses freed pages: a long-running host that appends and
    /// compacts must reach a plateau, not grow with the total written. (Measured on the pages
    /// used; the file itself also holds the space reserved ahead of commits.)
    func testFileSizeStopsGrowingUnderAppendAndCompactCycles() async throws {
        let store = try LogStore(directory: try makeTemporaryDirectory(self), configuration: LogStoreConfiguration(nodeID: 1))
        let shards = 16
        let entriesPerCycle: UInt64 = 200
        let kept: UInt64 = 100
        var sizeAfterWarmUp = 0
        let cycles = 80
        for cycle in 0..<UInt64(cycles) {
            var batch = WriteBatch()
            let first = cycle * entriesPerCycle + 1
            let last = first + entriesPerCycle - 1
            for shardNumber in 1...UInt64(shards) {
                var update = ReplicaUpdate(shard: ShardID(shardNumber), replica: replica,
                                           entries: makeEntries(first...last, term: 1, payloadBytes: 64))
                if cycle > 0 { update.compaction = LogPosition(index: LogIndex(first - 1 - kept), term: Term(1)) }
                batch.append(update)
            }
            try await store.write(batch)
            if cycle == 19 { sizeAfterWarmUp = store.usedBytes }
        }
        let finalSize = store.usedBytes
        let writtenBytes = cycles * shards * Int(entriesPerCycle) * 64
        print("append+compact: \(writtenBytes) payload bytes written, \(sizeAfterWarmUp) bytes used after 20 cycles, \(finalSize) after \(cycles)")
        XCTAssertEqual(try store.bounds(shard: ShardID(16), replica: replica).entryCount, entriesPerCycle + kept)
        XCTAssertLessThanOrEqual(finalSize, sizeAfterWarmUp + sizeAfterWarmUp / 4, "the file kept growing: pages are not reused")
        XCTAssertLessThan(finalSize, writtenBytes / 4, "the file holds far more than the live entries")
    }
}
