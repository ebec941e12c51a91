import FlotillaRaft
import Foundation
import XCTest

@testable import FlotillaLogStore
import FlotillaLogStoreCrashWriter

final class LogStoreFaultTests: XCTestCase {
    func testASecondOpenOfTheSameDirectoryIsRefused() throws {
        let directory = try makeTemporaryDirectory(self)
        let store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 1))
        assertThrowsLogStoreError(try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 1))) {
            $0 == .directoryInUse(path: directory, holderProcessID: getpid())
        }
        store.close()
        // Released on close.
        try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 1)).close()
    }

    func testADirectoryHeldByAnotherProcessIsRefusedUntilItDies() throws {
        let directory = try makeTemporaryDirectory(self)
        let child = try ChildProcess(arguments: ["crash", "--dir", directory])
        XCTAssertEqual(child.nextLine(), "open")
        assertThrowsLogStoreError(try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: CrashWorkload.nodeID))) {
            $0 == .directoryInUse(path: directory, holderProcessID: child.process.processIdentifier)
        }
        child.kill()
        // The kernel released the lock with the process: the store opens at once.
        try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: CrashWorkload.nodeID)).close()
    }

    func testAnotherFormatVersionIsRefused() throws {
        let directory = try makeTemporaryDirectory(self)
        var older = LogStoreConfiguration(nodeID: 1)
        older.formatVersion = 99
        try LogStore(directory: directory, configuration: older).close()
        assertThrowsLogStoreError(try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 1))) {
            $0 == .formatVersionMismatch(path: directory, found: 99, expected: LogStore.formatVersion)
        }
        // A file that is not LMDB at all.
        let garbage = try makeTemporaryDirectory(self)
        _ = FileManager.default.createFile(atPath: garbage + "/data.mdb", contents: Data(repeating: 0x5A, count: 16384))
        assertThrowsLogStoreError(try LogStore(directory: garbage, configuration: LogStoreConfiguration(nodeID: 1))) {
            $0 == .formatVersionMismatch(path: garbage, found: nil, expected: LogStore.formatVersion)
        }
    }

    func testAnotherNodeIDIsRefused() throws {
        let directory = try makeTemporaryDirectory(self)
        try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 3)).close()
        assertThrowsLogStoreError(try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 4))) {
            $0 == .nodeIDMismatch(path: directory, stored: 3, requested: 4)
        }
        XCTAssertEqual(try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 3)).identity.nodeID, 3)
    }

    func testAFullMapGrowsUpToTheMaximum() async throws {
        var configuration = LogStoreConfiguration(nodeID: 1)
        configuration.mapSizeBytesInitial = 1 << 20
        configuration.mapSizeBytesMax = 64 << 20
        let store = try LogStore(directory: try makeTemporaryDirectory(self), configuration: configuration)
        // A reader runs all along: growing the map must wait for its transactions, never pull
        // the map from under them.
        let reader = Task.detached {
            var lastSeen = LogIndex.zero
            while !Task.isCancelled {
                let bounds = try store.bounds(shard: ShardID(1), replica: ReplicaID(1))
                XCTAssertGreaterThanOrEqual(bounds.lastIndex, lastSeen)
                if bounds.lastIndex > .zero {
                    let entries = try store.entries(shard: ShardID(1), replica: ReplicaID(1), from: bounds.lastIndex,
                                                    through: bounds.lastIndex, byteLimit: .max)
                    XCTAssertEqual(entries.first?.payload.count, 1000)
                }
                lastSeen = bounds.lastIndex
            }
            return lastSeen
        }
        for round in 0..<UInt64(8) {
            try await store.write(append(makeEntries(round * 1000 + 1...round * 1000 + 1000, term: 1, payloadBytes: 1000)))
        }
        reader.cancel()
        _ = try await reader.value
        XCTAssertGreaterThan(store.mapSizeBytes, 8 << 20)
        XCTAssertLessThanOrEqual(store.mapSizeBytes, 64 << 20)
        XCTAssertEqual(try store.bounds(shard: ShardID(1), replica: ReplicaID(1)).lastIndex, LogIndex(8000))
    }

    func testAMapFullAtTheMaximumRefusesWritesAndLosesNothing() async throws {
        let directory = try makeTemporaryDirectory(self)
        var configuration = LogStoreConfiguration(nodeID: 1)
        configuration.mapSizeBytesInitial = 1 << 20
        configuration.mapSizeBytesMax = 2 << 20
        var written: UInt64 = 0
        do {
            let store = try LogStore(directory: directory, configuration: configuration)
            var refusal: LogStoreError?
            while refusal == nil && written < 10_000 {
                do {
                    try await store.write(append(makeEntries(written + 1...written + 50, term: 1, payloadBytes: 1000)))
                    written += 50
                } catch let error as LogStoreError {
                    refusal = error
                }
            }
            XCTAssertEqual(refusal, .mapFull(mapSizeBytes: 2 << 20, mapSizeBytesMax: 2 << 20))
            XCTAssertGreaterThan(written, 0)
            // Reads still work and the refused batch left nothing behind.
            XCTAssertEqual(try store.bounds(shard: ShardID(1), replica: ReplicaID(1)).lastIndex, LogIndex(written))
            // Writes to other replicas are refused too, with the same clear error.
            assertThrowsLogStoreError(try store.writeSynchronously(append(makeEntries(1...50, term: 1, payloadBytes: 1000), shard: 2))) {
                if case .mapFull = $0 { return true } else { return false }
            }
            store.close()
        }
        configuration.mapSizeBytesMax = 16 << 20
        let store = try LogStore(directory: directory, configuration: configuration)
        XCTAssertEqual(try store.entries(shard: ShardID(1), replica: ReplicaID(1), from: LogIndex(1), through: LogIndex(written), byteLimit: .max),
                       makeEntries(1...written, term: 1, payloadBytes: 1000))
        try await store.write(append(makeEntries(written + 1...written + 50, term: 1, payloadBytes: 1000)))
    }

    /// The child limits the size of files it may write (RLIMIT_FSIZE), so the kernel refuses the
    /// store's writes as a full disk would; the store must say so, keep reading, write again once
    /// there is room, and reopen consistent.
    func testAFullDiskIsReportedAndTheStoreRecovers() throws {
        let directory = try makeTemporaryDirectory(self)
        let child = try ChildProcess(arguments: ["disk-full", "--dir", directory, "--file-size-bytes", String(2 << 20)])
        let refusal = try XCTUnwrap(child.nextLine())
        XCTAssertTrue(refusal.hasPrefix("disk-full "), refusal)
        XCTAssertTrue(refusal.contains("disk full"), refusal)
        let refusedBatch = try XCTUnwrap(Int(refusal.split(separator: " ")[1]))
        XCTAssertGreaterThan(refusedBatch, 0)
        XCTAssertEqual(child.nextLine()?.hasPrefix("readable "), true)
        XCTAssertEqual(child.nextLine(), "recovered \(refusedBatch)")
        child.process.waitUntilExit()
        XCTAssertEqual(child.process.terminationStatus, 0)
        let store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: CrashWorkload.nodeID))
        try CrashWorkloadChecker.check(store, durableBatches: [0: refusedBatch])
    }

    /// SIGKILL in the middle of a write loop: every batch the child reported durable is there,
    /// and the store is consistent (contiguous logs, whole batches, hard state matching the log).
    func testAKilledWriterLosesNoDurableBatch() throws {
        let directory = try makeTemporaryDirectory(self)
        for round in 0..<2 {
            let child = try ChildProcess(arguments: ["crash", "--dir", directory])
            XCTAssertEqual(child.nextLine(), "open")
            var durable = [Int: Int]()
            var reports = 0
            // Kill after a varying number of durable reports, while the writers are mid-loop.
            let killAfter = 150 + round * 97
            while reports < killAfter, let line = child.nextLine() {
                reports += try CrashWorkloadChecker.record(line, into: &durable)
            }
            child.kill()
            // Lines the child printed before it died still count.
            while let line = child.nextLine() { reports += try CrashWorkloadChecker.record(line, into: &durable) }
            XCTAssertGreaterThanOrEqual(reports, killAfter)
            let store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: CrashWorkload.nodeID))
            try CrashWorkloadChecker.check(store, durableBatches: durable)
            store.close()
            if round == 1 { return }
            // The next round continues the same store: start again from scratch for simplicity.
            try FileManager.default.removeItem(atPath: directory)
        }
    }
}
