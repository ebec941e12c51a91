import FlotillaHost
import FlotillaLogStore
import FlotillaRaft
import Foundation
import XCTest

@testable import FlotillaNode

/// The LMDB host store picks the generation a replacement of a shard's stored state goes into.
/// Two shards' replacements (of two step workers, whose writes land in either order) must both
/// be taken, and a step refused (a full disk) and converted again when it is resubmitted must
/// name the same generation: either mistake refuses a batch, which stops the host.
final class StateReplacementGenerationTests: XCTestCase {
    private func makeStore() throws -> (LMDBHostLogStore, String) {
        let directory = NSTemporaryDirectory() + "flotilla-generations-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try LogStore(directory: directory, configuration: LogStoreConfiguration(nodeID: 1, clusterID: 5))
        let host = LMDBHostLogStore(store: store)
        var updates: [ReplicaLogUpdate] = []
        for shard in [ShardID(1), ShardID(2)] {
            var update = ReplicaLogUpdate(shard: shard)
            update.record = ReplicaRecord(origin: .bootstrap)
            updates.append(update)
        }
        try host.persist(updates)
        return (host, directory)
    }

    private func stateWrite(_ shard: ShardID, _ step: StateReplacementStep, applied: UInt64?) -> ReplicaLogUpdate {
        var update = ReplicaLogUpdate(shard: shard)
        update.state = ReplicaStateWrite(replacement: step, applied: applied.map { AppliedPosition(index: LogIndex($0), term: Term(1)) })
        return update
    }

    func testReplacementsOfTwoShardsLandInEitherOrder() throws {
        let (host, directory) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let row = StoredKeyValue(key: Array("k".utf8), value: Array("v".utf8))
        // Shard 1 begins first, shard 2 replaces whole after it; shard 2's write lands first.
        let begin = try host.batch(of: [stateWrite(ShardID(1), .begin, applied: nil)])
        let whole = try host.batch(of: [stateWrite(ShardID(2), .whole([row]), applied: 9)])
        try host.store.writeSynchronously(whole)
        try host.store.writeSynchronously(begin)
        try host.persist([stateWrite(ShardID(1), .rows([row]), applied: nil)])
        try host.persist([stateWrite(ShardID(1), .finish(rowCount: 1), applied: 7)])
        for (shard, applied) in [(ShardID(1), 7), (ShardID(2), 9)] {
            XCTAssertEqual(try host.stateRows(shard: shard, after: nil, limit: 10), [row])
            XCTAssertEqual(try host.loadReplicas().first { $0.shard == shard }?.stateApplied?.index, LogIndex(UInt64(applied)))
        }
    }

    func testAStepConvertedAgainNamesTheSameGeneration() throws {
        let (host, directory) = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let row = StoredKeyValue(key: Array("k".utf8), value: Array("v".utf8))
        try host.persist([stateWrite(ShardID(1), .begin, applied: nil)])
        let rows = stateWrite(ShardID(1), .rows([row]), applied: nil)
        _ = try host.batch(of: [rows])
        try host.persist([rows])
        let finish = stateWrite(ShardID(1), .finish(rowCount: 1), applied: 4)
        let first = try host.batch(of: [finish])
        let again = try host.batch(of: [finish])
        XCTAssertEqual(first.updates.first?.state, again.updates.first?.state)
        try host.store.writeSynchronously(again)
        XCTAssertEqual(try host.stateRows(shard: ShardID(1), after: nil, limit: 10), [row])
    }
}
