import FlotillaHost
import FlotillaHostTesting
import FlotillaRaft
import Foundation
import XCTest

final class RestoreTests: XCTestCase {
    /// Exports every shard of a running cluster, restores three fresh stores with new voters,
    /// and serves them: every key is back and new writes work.
    func testExportRestoreServe() async throws {
        let shards: [UInt64] = [1, 2, 3, 4]
        let old = TestCluster { $0.shardCount = 4 }
        try old.bootstrap(voters: [1, 2, 3], shards: shards)
        for shard in shards {
            for number in 0..<25 { try await old.put(shard, "key-\(shard)-\(number)", "value-\(number)") }
        }
        var files: [String] = []
        for shard in shards {
            let leader = try old.leader(of: shard)
            files.append(try await leader.export(ShardID(shard), directory: old.root + "/export").get().file)
        }
        let snapshots = try ClusterRestore.validate(files: files)

        let restored = TestCluster { $0.shardCount = 4 }
        let members: [ReplicaID: String] = [ReplicaID(4): "host-4", ReplicaID(5): "host-5", ReplicaID(6): "host-6"]
        var clusterIDs: Set<UInt64> = []
        for node in [4, 5, 6] as [UInt64] {
            let store = MemoryHostLogStore()
            clusterIDs.insert(try ClusterRestore.restore(snapshots, members: members, store: store,
                                                         snapshotDirectory: "\(restored.root)/node-\(node)/snapshots").clusterID)
            restored.stores[ReplicaID(node)] = store
        }
        XCTAssertEqual(clusterIDs.count, 1, "every host derives the same new identity")
        XCTAssertNotEqual(clusterIDs.first, old.clusterID)
        for node in [4, 5, 6] as [UInt64] { try restored.start(ReplicaID(node)) }
        for shard in shards {
            let leader = try restored.leader(of: shard)
            for number in 0..<25 {
                let value = try await leader.read(ShardID(shard), key: Array("key-\(shard)-\(number)".utf8)).get()
                XCTAssertEqual(text(value), "value-\(number)")
            }
            let status = try await leader.status(ShardID(shard)).get()
            XCTAssertEqual(status.membership.voters, [ReplicaID(4), ReplicaID(5), ReplicaID(6)])
            XCTAssertTrue(status.membership.removed.isSuperset(of: [ReplicaID(1), ReplicaID(2), ReplicaID(3)]))
            try await restored.put(shard, "new-key", "works")
        }
    }

    func testRefusesBadSnapshotSets() async throws {
        let cluster = TestCluster { $0.shardCount = 2 }
        try cluster.bootstrap(voters: [1], shards: [1, 2])
        for shard in [1, 2] as [UInt64] { try await cluster.put(shard, "k", "v") }
        let host = try cluster.leader(of: 1)
        let first = try await host.export(ShardID(1), directory: cluster.root + "/a").get().file
        let second = try await host.export(ShardID(2), directory: cluster.root + "/a").get().file
        XCTAssertNoThrow(try ClusterRestore.validate(files: [first, second]))

        XCTAssertThrowsError(try ClusterRestore.validate(files: [first])) { error in
            XCTAssertTrue("\(error)".contains("incomplete"), "\(error)")
        }
        XCTAssertThrowsError(try ClusterRestore.validate(files: [first, first, second])) { error in
            XCTAssertTrue("\(error)".contains("twice"), "\(error)")
        }
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: second)))
        let truncated = cluster.root + "/truncated.flsnap"
        try Data(bytes.dropLast(9)).write(to: URL(fileURLWithPath: truncated))
        XCTAssertThrowsError(try ClusterRestore.validate(files: [first, truncated]))
        var flipped = bytes
        flipped[flipped.count / 2] ^= 0x40
        let corrupt = cluster.root + "/corrupt.flsnap"
        try Data(flipped).write(to: URL(fileURLWithPath: corrupt))
        XCTAssertThrowsError(try ClusterRestore.validate(files: [first, corrupt])) { error in
            XCTAssertTrue("\(error)".contains("checksum"), "\(error)")
        }

        let other = TestCluster { $0.shardCount = 2 }
        try other.bootstrap(voters: [9], shards: [2])
        try await other.put(2, "k", "v")
        let foreign = try await other.leader(of: 2).export(ShardID(2), directory: other.root + "/b").get().file
        var foreignFile = try SnapshotFile.read(from: foreign)
        foreignFile.header.clusterID = 12345
        let mixed = other.root + "/mixed.flsnap"
        try SnapshotFile.write(foreignFile.header, stateMachine: foreignFile.stateMachine, to: mixed)
        XCTAssertThrowsError(try ClusterRestore.validate(files: [first, mixed])) { error in
            XCTAssertTrue("\(error)".contains("different clusters"), "\(error)")
        }
    }
}
