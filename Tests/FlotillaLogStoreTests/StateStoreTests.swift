import FlotillaRaft
import Foundation
import XCTest

@testable import FlotillaLogStore

/// A replica's key-value state kept beside its log: written in the log's transaction, read back
/// after a reopen at its applied position, walked in order from any resume point, replaced
/// whole by an install that is all or nothing, and deleted a bounded slice per transaction.
final class StateStoreTests: XCTestCase {
    private let shard = ShardID(3)
    private let replica = ReplicaID(1)

    private func open(_ directory: String) throws -> LogStore {
        try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 1))
    }

    private func row(_ key: String, _ value: String, expiry: UInt64? = nil) -> StateRow {
        StateRow(position: position(key), key: Array(key.utf8), value: StateValue(bytes: Array(value.utf8), expiryMilliseconds: expiry))
    }

    /// A stand-in for the host's scan order: any function of the key will do.
    private func position(_ key: String) -> UInt64 { UInt64(key.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFF) }

    private func value(_ store: LogStore, _ key: String) throws -> String? {
        try store.stateValue(shard: shard, replica: replica, position: position(key), key: Array(key.utf8)).map { String(decoding: $0.bytes, as: UTF8.self) }
    }

    private func write(_ store: LogStore, entries: [StoredEntry] = [], _ state: StateUpdate, record: Bool = false) throws {
        try store.writeSynchronously(WriteBatch(updates: [
            ReplicaUpdate(shard: shard, replica: replica, entries: entries,
                          record: record ? StoredReplicaRecord(role: .voter, origin: .bootstrap) : nil, state: state),
        ]))
    }

    func testChangesAndTheAppliedPositionShareTheLogsTransactionAndSurviveAReopen() throws {
        let directory = try makeTemporaryDirectory(self)
        do {
            let store = try open(directory)
            try write(store, entries: makeEntries(1...3, term: 2), StateUpdate(
                changes: [.put(row("a", "1")), .put(row("b", "2", expiry: 99)), .put(row("c", "3")), .delete(position: position("c"), key: Array("c".utf8))],
                applied: LogPosition(index: LogIndex(3), term: Term(2))), record: true)
            try write(store, StateUpdate(changes: [.put(row("a", "one")), .delete(position: position("never"), key: Array("never".utf8))],
                                         applied: LogPosition(index: LogIndex(3), term: Term(2))))
            store.close()
        }
        let store = try open(directory)
        XCTAssertEqual(try value(store, "a"), "one")
        XCTAssertEqual(try value(store, "b"), "2")
        XCTAssertNil(try value(store, "c"))
        XCTAssertEqual(try store.stateValue(shard: shard, replica: replica, position: position("b"), key: Array("b".utf8))?.expiryMilliseconds, 99)
        XCTAssertEqual(try store.stateCount(shard: shard, replica: replica), 2, "an overwrite and a delete of an absent key change no count")
        XCTAssertEqual(try store.appliedPosition(shard: shard, replica: replica), LogPosition(index: LogIndex(3), term: Term(2)))
        XCTAssertEqual(try store.bounds(shard: shard, replica: replica).lastIndex, LogIndex(3))
        // Another replica's state is another range.
        XCTAssertNil(try store.stateValue(shard: shard, replica: ReplicaID(2), position: position("a"), key: Array("a".utf8)))
    }

    func testRowsComeInPositionThenKeyOrderAndResumeAfterAnyRow() throws {
        let store = try open(try makeTemporaryDirectory(self))
        let rows = (0..<50).map { StateRow(position: UInt64($0 % 7), key: Array("key-\($0)".utf8), value: StateValue(bytes: [UInt8($0)])) }
        try write(store, StateUpdate(changes: rows.map { .put($0) }), record: true)
        let expected = rows.sorted { $0.resumePoint < $1.resumePoint }
        var walked: [StateRow] = []
        var after: StateResumePoint?
        while true {
            let page = try store.stateRows(shard: shard, replica: replica, after: after, limit: 6)
            if page.isEmpty { break }
            XCTAssertLessThanOrEqual(page.count, 6)
            walked += page
            after = page.last!.resumePoint
        }
        XCTAssertEqual(walked, expected)
        // Resuming from a point between rows (a key deleted since) goes on from the next one.
        let gap = StateResumePoint(position: 3, key: Array("key-".utf8))
        XCTAssertEqual(try store.stateRows(shard: shard, replica: replica, after: gap, limit: 1).first, expected.first { gap < $0.resumePoint })
    }

    /// LMDB keys are at most 511 bytes; Flotilla's keys up to 1,024. Long keys sharing their
    /// first 448 bytes and their position share a bucket, and are still found, counted, ordered
    /// and resumed exactly.
    func testLongKeysAreStoredReadCountedAndWalkedInOrder() throws {
        let directory = try makeTemporaryDirectory(self)
        let common = String(repeating: "k", count: 600)
        let keys = [common + "b", common + "a", common + "c", String(repeating: "k", count: 448),
                    String(repeating: "k", count: 449), String(repeating: "z", count: 1_024), "short"]
        let rows = keys.enumerated().map { StateRow(position: 5, key: Array($1.utf8), value: StateValue(bytes: Array("v\($0)".utf8))) }
        do {
            let store = try open(directory)
            try write(store, StateUpdate(changes: rows.map { .put($0) }, applied: LogPosition(index: LogIndex(1), term: Term(1))), record: true)
            try write(store, StateUpdate(changes: [.put(StateRow(position: 5, key: Array((common + "a").utf8), value: StateValue(bytes: Array("new".utf8)))),
                                                   .delete(position: 5, key: Array((common + "c").utf8)),
                                                   .delete(position: 5, key: Array((common + "d").utf8))]))
            store.close()
        }
        let store = try open(directory)
        func stored(_ key: String) throws -> String? {
            try store.stateValue(shard: shard, replica: replica, position: 5, key: Array(key.utf8)).map { String(decoding: $0.bytes, as: UTF8.self) }
        }
        XCTAssertEqual(try stored(common + "a"), "new")
        XCTAssertEqual(try stored(common + "b"), "v0")
        XCTAssertNil(try stored(common + "c"))
        XCTAssertNil(try stored(common))
        XCTAssertEqual(try stored(String(repeating: "z", count: 1_024)), "v5")
        XCTAssertEqual(try store.stateCount(shard: shard, replica: replica), 6)
        let expected = keys.filter { $0 != common + "c" }.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        var walked: [[UInt8]] = []
        var after: StateResumePoint?
        while true {
            let page = try store.stateRows(shard: shard, replica: replica, after: after, limit: 2)
            if page.isEmpty { break }
            walked += page.map(\.key)
            after = page.last!.resumePoint
        }
        XCTAssertEqual(walked, expected, "long and short keys in byte order, resumed inside a bucket too")
    }

    func testAReplacementInOneWriteTakesTheWholeStateAndItsPosition() throws {
        let store = try open(try makeTemporaryDirectory(self))
        try write(store, StateUpdate(changes: [.put(row("old", "1")), .put(row("kept", "2"))],
                                     applied: LogPosition(index: LogIndex(4), term: Term(1))), record: true)
        let replacement = [row("kept", "new"), row("fresh", "3"), StateRow(position: 9, key: Array(String(repeating: "L", count: 700).utf8), value: StateValue(bytes: [1]))]
        try write(store, StateUpdate(applied: LogPosition(index: LogIndex(40), term: Term(3)),
                                     install: .replace(generation: try store.nextStateInstallGeneration(shard: shard, replica: replica), rows: replacement,
                                                      applied: LogPosition(index: LogIndex(40), term: Term(3)))))
        XCTAssertNil(try value(store, "old"))
        XCTAssertEqual(try value(store, "kept"), "new")
        XCTAssertEqual(try value(store, "fresh"), "3")
        XCTAssertEqual(try store.stateCount(shard: shard, replica: replica), 3)
        XCTAssertEqual(try store.appliedPosition(shard: shard, replica: replica), LogPosition(index: LogIndex(40), term: Term(3)))
        // The replaced generation's rows go in the writer's later transactions.
        for _ in 0..<5 where try store.retiredStateGenerationCount() > 0 {
            try write(store, StateUpdate(changes: [.put(row("tick", "x"))]))
        }
        XCTAssertEqual(try store.retiredStateGenerationCount(), 0)
    }

    func testAnInstallReplacesTheWholeStateAtOnceAndTheOldRowsAreSweptAway() throws {
        let store = try open(try makeTemporaryDirectory(self))
        try write(store, StateUpdate(changes: [.put(row("old", "x")), .put(row("kept-name", "old"))],
                                     applied: LogPosition(index: LogIndex(5), term: Term(1))), record: true)
        let generation = try store.nextStateInstallGeneration(shard: shard, replica: replica)
        try write(store, StateUpdate(install: .begin(generation: generation)))
        try write(store, StateUpdate(install: .rows(generation: generation, [row("kept-name", "new"), row("n1", "1")])))
        // Until the switch, reads and new changes see the old state.
        XCTAssertEqual(try value(store, "kept-name"), "old")
        XCTAssertNil(try value(store, "n1"))
        try write(store, StateUpdate(install: .rows(generation: generation, [row("n2", "2")])))
        try write(store, StateUpdate(install: .finish(generation: generation, applied: LogPosition(index: LogIndex(900), term: Term(4)), rowCount: 3)))
        XCTAssertEqual(try value(store, "kept-name"), "new")
        XCTAssertEqual(try value(store, "n2"), "2")
        XCTAssertNil(try value(store, "old"))
        XCTAssertEqual(try store.stateCount(shard: shard, replica: replica), 3)
        XCTAssertEqual(try store.appliedPosition(shard: shard, replica: replica), LogPosition(index: LogIndex(900), term: Term(4)))
        // The replaced generation was deleted by the writes that followed.
        XCTAssertEqual(try store.retiredStateGenerationCount(), 0)
        // Changes go to the new state.
        try write(store, StateUpdate(changes: [.put(row("n3", "3"))]))
        XCTAssertEqual(try store.stateCount(shard: shard, replica: replica), 4)
    }

    func testAnInstallThatIsShortOfRowsOrAbandonedLeavesTheOldStateInPlace() throws {
        let store = try open(try makeTemporaryDirectory(self))
        try write(store, StateUpdate(changes: [.put(row("a", "old"))], applied: LogPosition(index: LogIndex(2), term: Term(1))), record: true)
        let generation = try store.nextStateInstallGeneration(shard: shard, replica: replica)
        try write(store, StateUpdate(install: .begin(generation: generation)))
        try write(store, StateUpdate(install: .rows(generation: generation, [row("a", "new")])))
        // The snapshot promised two rows; one arrived: refused, nothing switched.
        assertThrowsLogStoreError(try write(store, StateUpdate(install: .finish(generation: generation, applied: LogPosition(index: LogIndex(9), term: Term(2)), rowCount: 2)))) {
            if case .invalidBatch = $0 { return true } else { return false }
        }
        XCTAssertEqual(try value(store, "a"), "old")
        XCTAssertEqual(try store.appliedPosition(shard: shard, replica: replica), LogPosition(index: LogIndex(2), term: Term(1)))
        try write(store, StateUpdate(install: .abandon(generation: generation)))
        XCTAssertEqual(try value(store, "a"), "old")
        XCTAssertEqual(try store.retiredStateGenerationCount(), 0, "the abandoned rows were deleted")
        // A generation may not be reused for the next install.
        XCTAssertGreaterThan(try store.nextStateInstallGeneration(shard: shard, replica: replica), generation)
        assertThrowsLogStoreError(try write(store, StateUpdate(install: .rows(generation: generation, [row("b", "1")])))) {
            if case .invalidBatch = $0 { return true } else { return false }
        }
    }

    func testAnInstallCutShortByACrashIsAbandonedWhenTheStoreOpens() throws {
        let directory = try makeTemporaryDirectory(self)
        var generation: UInt32 = 0
        do {
            let store = try open(directory)
            try write(store, StateUpdate(changes: [.put(row("a", "old"))]), record: true)
            generation = try store.nextStateInstallGeneration(shard: shard, replica: replica)
            try write(store, StateUpdate(install: .begin(generation: generation)))
            try write(store, StateUpdate(install: .rows(generation: generation, (0..<100).map { row("new-\($0)", "v") })))
            store.close()
        }
        let store = try open(directory)
        XCTAssertEqual(try value(store, "a"), "old")
        XCTAssertEqual(try store.stateCount(shard: shard, replica: replica), 1)
        try write(store, StateUpdate(changes: [.put(row("b", "after"))]))
        XCTAssertEqual(try store.retiredStateGenerationCount(), 0)
        XCTAssertEqual(try store.stateRows(shard: shard, replica: replica, after: nil, limit: 1000).map { String(decoding: $0.key, as: UTF8.self) }.sorted(), ["a", "b"])
        let next = try store.nextStateInstallGeneration(shard: shard, replica: replica)
        XCTAssertGreaterThan(next, generation)
        try write(store, StateUpdate(install: .begin(generation: next)))
    }

    func testAViewStaysAsOfItsMomentWhileWritesGoOn() throws {
        let store = try open(try makeTemporaryDirectory(self))
        try write(store, StateUpdate(changes: (0..<20).map { .put(row("k\($0)", "before")) }, applied: LogPosition(index: LogIndex(20), term: Term(1))), record: true)
        try store.withStateView(shard: shard, replica: replica) { view in
            XCTAssertEqual(view.applied.index, LogIndex(20))
            XCTAssertEqual(view.count, 20)
            let first = try view.rows(after: nil, limit: 5)
            // Written (and durable) while the view is open:
            try write(store, StateUpdate(changes: (0..<20).map { .put(row("k\($0)", "after")) } + [.put(row("extra", "x"))],
                                         applied: LogPosition(index: LogIndex(21), term: Term(1))))
            let rest = try view.rows(after: first.last!.resumePoint, limit: 100, bytesMax: 1)
            XCTAssertEqual(rest.count, 1, "bytesMax still returns one row")
            var all = first
            var after = first.last!.resumePoint
            while case let page = try view.rows(after: after, limit: 7), !page.isEmpty {
                all += page
                after = page.last!.resumePoint
            }
            XCTAssertEqual(all.count, 20)
            XCTAssertTrue(all.allSatisfy { $0.value.bytes == Array("before".utf8) }, "the view saw a later write")
        }
        XCTAssertEqual(try value(store, "k0"), "after")
        XCTAssertEqual(try store.stateCount(shard: shard, replica: replica), 21)
    }

    func testARemovedReplicaAddedAgainStartsEmptyAndKeepsItsNewRows() throws {
        let store = try open(try makeTemporaryDirectory(self))
        try write(store, StateUpdate(changes: (0..<3000).map { .put(row("k\($0)", "old")) }), record: true)
        // Removed and created again in one update: the old rows (more than one sweep's worth)
        // are retired, the new replica writes a generation of its own.
        try store.writeSynchronously(WriteBatch(updates: [
            ReplicaUpdate(shard: shard, replica: replica, removesReplica: true, record: StoredReplicaRecord(role: .observer, origin: .join),
                          state: StateUpdate(changes: [.put(row("fresh", "1"))])),
        ]))
        XCTAssertNil(try value(store, "k1"))
        XCTAssertEqual(try value(store, "fresh"), "1")
        XCTAssertEqual(try store.stateCount(shard: shard, replica: replica), 1)
        XCTAssertEqual(try store.appliedPosition(shard: shard, replica: replica), LogPosition(index: .zero, term: .zero))
        XCTAssertEqual(try store.retiredStateGenerationCount(), 1, "3000 rows take two sweeps")
        try write(store, StateUpdate(changes: [.put(row("fresh-2", "2"))]))
        XCTAssertEqual(try store.retiredStateGenerationCount(), 0)
        XCTAssertEqual(try value(store, "fresh"), "1", "the sweep deleted none of the new replica's rows")
        XCTAssertEqual(try store.stateCount(shard: shard, replica: replica), 2)
    }
}
