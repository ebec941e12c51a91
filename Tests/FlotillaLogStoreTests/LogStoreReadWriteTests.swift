import FlotillaRaft
import XCTest

@testable import FlotillaLogStore

final class LogStoreReadWriteTests: XCTestCase {
    private let shard = ShardID(3)
    private let replica = ReplicaID(1)

    private func openStore(_ directory: String, nodeID: UInt64 = 1) throws -> LogStore {
        try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: nodeID, clusterID: 42))
    }

    func testAppendedEntriesReadBackWithBoundsAndTerms() async throws {
        let store = try openStore(try makeTemporaryDirectory(self))
        XCTAssertEqual(try store.bounds(shard: shard, replica: replica), .empty)
        try await store.write(append(makeEntries(1...5, term: 1), shard: 3))
        try await store.write(append(makeEntries(6...10, term: 2), shard: 3))

        let bounds = try store.bounds(shard: shard, replica: replica)
        XCTAssertEqual(bounds.firstIndex, LogIndex(1))
        XCTAssertEqual(bounds.lastIndex, LogIndex(10))
        XCTAssertEqual(try store.entries(shard: shard, replica: replica, from: LogIndex(1), through: LogIndex(10), byteLimit: .max),
                       makeEntries(1...5, term: 1) + makeEntries(6...10, term: 2))
        XCTAssertEqual(try store.term(shard: shard, replica: replica, at: LogIndex(0)), Term(0))
        XCTAssertEqual(try store.term(shard: shard, replica: replica, at: LogIndex(5)), Term(1))
        XCTAssertEqual(try store.term(shard: shard, replica: replica, at: LogIndex(6)), Term(2))
        XCTAssertNil(try store.term(shard: shard, replica: replica, at: LogIndex(11)))
        // Other replicas and shards are untouched.
        XCTAssertEqual(try store.bounds(shard: ShardID(2), replica: replica), .empty)
        XCTAssertEqual(try store.bounds(shard: shard, replica: ReplicaID(2)), .empty)
    }

    func testEntriesAreBoundedByBytesButReturnAtLeastOne() async throws {
        let store = try openStore(try makeTemporaryDirectory(self))
        try await store.write(append(makeEntries(1...10, term: 1, payloadBytes: 100), shard: 3))
        let three = try store.entries(shard: shard, replica: replica, from: LogIndex(2), through: LogIndex(10), byteLimit: 350)
        XCTAssertEqual(three.map(\.index), [LogIndex(2), LogIndex(3), LogIndex(4)])
        let one = try store.entries(shard: shard, replica: replica, from: LogIndex(4), through: LogIndex(10), byteLimit: 1)
        XCTAssertEqual(one.map(\.index), [LogIndex(4)])
        let clipped = try store.entries(shard: shard, replica: replica, from: LogIndex(9), through: LogIndex(50), byteLimit: .max)
        XCTAssertEqual(clipped.map(\.index), [LogIndex(9), LogIndex(10)])
        XCTAssertEqual(try store.entries(shard: shard, replica: replica, from: LogIndex(11), through: LogIndex(20), byteLimit: .max), [])
    }

    func testAppendOverwritesTheConflictingSuffix() async throws {
        let store = try openStore(try makeTemporaryDirectory(self))
        try await store.write(append(makeEntries(1...10, term: 1), shard: 3))
        try await store.write(append(makeEntries(6...7, term: 2), shard: 3))
        XCTAssertEqual(try store.bounds(shard: shard, replica: replica).lastIndex, LogIndex(7))
        XCTAssertEqual(try store.entries(shard: shard, replica: replica, from: LogIndex(1), through: LogIndex(10), byteLimit: .max),
                       makeEntries(1...5, term: 1) + makeEntries(6...7, term: 2))
        XCTAssertNil(try store.term(shard: shard, replica: replica, at: LogIndex(8)))
    }

    func testRecordsSurviveReopenAndListEveryReplica() async throws {
        let directory = try makeTemporaryDirectory(self)
        let hardState = StoredHardState(term: Term(4), vote: ReplicaID(2), commit: LogIndex(3))
        let snapshot = StoredSnapshotRecord(index: LogIndex(2), term: Term(1), membership: [1, 2, 3], fileName: "snapshot-2")
        let record = StoredReplicaRecord(role: .observer, origin: .join, payload: [9, 9])
        do {
            let store = try openStore(directory)
            var batch = WriteBatch()
            for shardNumber in 1...3 as ClosedRange<UInt64> {
                batch.append(ReplicaUpdate(shard: ShardID(shardNumber), replica: replica, entries: makeEntries(1...4, term: 1),
                                           hardState: hardState, snapshot: snapshot, record: record))
            }
            batch.append(ReplicaUpdate(shard: ShardID(9), replica: ReplicaID(5), record: StoredReplicaRecord(role: .voter, origin: .restore)))
            try store.writeSynchronously(batch)
            store.close()
        }
        let store = try openStore(directory)
        XCTAssertEqual(store.identity, HostIdentity(nodeID: 1, clusterID: 42, formatVersion: LogStore.formatVersion))
        XCTAssertEqual(try store.hardState(shard: ShardID(2), replica: replica), hardState)
        XCTAssertEqual(try store.snapshot(shard: ShardID(2), replica: replica), snapshot)
        XCTAssertEqual(try store.record(shard: ShardID(2), replica: replica), record)
        XCTAssertNil(try store.hardState(shard: ShardID(4), replica: replica))

        let recovered = try store.recoverReplicas()
        XCTAssertEqual(recovered.map(\.shard), [ShardID(1), ShardID(2), ShardID(3), ShardID(9)])
        XCTAssertEqual(recovered[0], RecoveredReplica(shard: ShardID(1), replica: replica, record: record, hardState: hardState,
                                                      snapshot: snapshot, bounds: LogBounds(compacted: .origin, lastIndex: LogIndex(4))))
        XCTAssertEqual(recovered[3].record, StoredReplicaRecord(role: .voter, origin: .restore))
        XCTAssertEqual(recovered[3].bounds, .empty)
    }

    func testRemovingAReplicaDropsEverythingItHeld() async throws {
        let store = try openStore(try makeTemporaryDirectory(self))
        try await store.write(WriteBatch(updates: [
            ReplicaUpdate(shard: shard, replica: replica, entries: makeEntries(1...5, term: 1),
                          hardState: StoredHardState(term: Term(1), vote: replica, commit: LogIndex(5)),
                          record: StoredReplicaRecord(role: .voter, origin: .bootstrap)),
            ReplicaUpdate(shard: ShardID(4), replica: replica, entries: makeEntries(1...2, term: 1)),
        ]))
        try await store.write(WriteBatch(updates: [ReplicaUpdate(shard: shard, replica: replica, removesReplica: true)]))
        XCTAssertEqual(try store.bounds(shard: shard, replica: replica), .empty)
        XCTAssertNil(try store.hardState(shard: shard, replica: replica))
        XCTAssertNil(try store.record(shard: shard, replica: replica))
        XCTAssertEqual(try store.recoverReplicas().map(\.shard), [ShardID(4)])
        // Removed and recreated in one update.
        try await store.write(WriteBatch(updates: [
            ReplicaUpdate(shard: ShardID(4), replica: replica, removesReplica: true, entries: makeEntries(1...1, term: 7)),
        ]))
        XCTAssertEqual(try store.entries(shard: ShardID(4), replica: replica, from: LogIndex(1), through: LogIndex(9), byteLimit: .max),
                       makeEntries(1...1, term: 7))
    }

    func testMalformedAndGappedBatchesAreRefusedAndStoreNothing() async throws {
        let store = try openStore(try makeTemporaryDirectory(self))
        try await store.write(append(makeEntries(1...3, term: 2), shard: 3))
        assertThrowsLogStoreError(try store.writeSynchronously(append(makeEntries(5...6, term: 2), shard: 3))) {
            if case .invalidAppend = $0 { return true } else { return false }
        }
        var gapped = makeEntries(4...6, term: 2)
        gapped.remove(at: 1)
        assertThrowsLogStoreError(try store.writeSynchronously(append(gapped, shard: 3))) {
            if case .invalidBatch = $0 { return true } else { return false }
        }
        assertThrowsLogStoreError(try store.writeSynchronously(append(makeEntries(4...4, term: 3) + makeEntries(5...5, term: 2), shard: 3))) {
            if case .invalidBatch = $0 { return true } else { return false }
        }
        let twice = WriteBatch(updates: [ReplicaUpdate(shard: shard, replica: replica), ReplicaUpdate(shard: shard, replica: replica)])
        assertThrowsLogStoreError(try store.writeSynchronously(twice)) {
            if case .invalidBatch = $0 { return true } else { return false }
        }
        // A refused batch of several replicas stores none of them.
        let mixed = WriteBatch(updates: [
            ReplicaUpdate(shard: ShardID(8), replica: replica, entries: makeEntries(1...2, term: 1)),
            ReplicaUpdate(shard: shard, replica: replica, entries: makeEntries(9...9, term: 2)),
        ])
        assertThrowsLogStoreError(try store.writeSynchronously(mixed)) {
            if case .invalidAppend = $0 { return true } else { return false }
        }
        XCTAssertEqual(try store.bounds(shard: ShardID(8), replica: replica), .empty)
        XCTAssertEqual(try store.bounds(shard: shard, replica: replica).lastIndex, LogIndex(3))
        // The store still writes after refusals.
        try await store.write(append(makeEntries(4...4, term: 2), shard: 3))
        XCTAssertEqual(try store.bounds(shard: shard, replica: replica).lastIndex, LogIndex(4))
    }

    func testClusterIdentityIsRecordedOnceAndThenChecked() async throws {
        let directory = try makeTemporaryDirectory(self)
        do {
            let store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 5))
            XCTAssertEqual(store.identity.clusterID, 0)
            try await store.write(WriteBatch(clusterID: 77))
            assertThrowsLogStoreError(try store.writeSynchronously(WriteBatch(clusterID: 78))) {
                $0 == .clusterIDMismatch(stored: 77, requested: 78)
            }
            store.close()
        }
        let store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 5))
        XCTAssertEqual(store.identity.clusterID, 77)
        store.close()
        assertThrowsLogStoreError(try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 5, clusterID: 3))) {
            $0 == .clusterIDMismatch(stored: 77, requested: 3)
        }
    }

    func testClosedStoreRefusesReadsAndWrites() async throws {
        let store = try openStore(try makeTemporaryDirectory(self))
        store.close()
        assertThrowsLogStoreError(try store.bounds(shard: shard, replica: replica)) { $0 == .closed }
        assertThrowsLogStoreError(try store.writeSynchronously(append(makeEntries(1...1, term: 1)))) { $0 == .closed }
    }
}
