import FlotillaRaft
import Foundation

/// Builds a host's replicas offline from exported snapshots, one per shard, with new voters:
/// the way back when a shard lost its quorum for good or a cluster moves (etcd's snapshot
/// restore, Dragonboat's ImportSnapshot).
///
/// Two traps are avoided. The restored cluster gets a new identity (derived from the inputs, so
/// every host restoring the same files with the same members computes the same one), and its
/// hosts never talk to hosts of the old cluster. And epochs only move forward: each restored
/// snapshot sits one index and one term past the exported one, and its configuration index is
/// that new index, so no configuration of the old cluster can look newer than the restored one.
public enum ClusterRestore {
    public struct ValidatedSnapshot: Sendable {
        public var header: SnapshotFile.Header
        public var stateMachine: KeyValueStateMachine
        public var file: String
    }

    /// Reads and checks a snapshot set: every file valid, one cluster, each shard of `1...K`
    /// exactly once. Throws with a message naming the problem; reads only.
    public static func validate(files: [String]) throws(RestoreError) -> [ValidatedSnapshot] {
        guard !files.isEmpty else { throw .invalidSet("no snapshot files given") }
        var snapshots: [ValidatedSnapshot] = []
        for file in files {
            do {
                let loaded = try SnapshotFile.read(from: file)
                snapshots.append(ValidatedSnapshot(header: loaded.header, stateMachine: loaded.stateMachine, file: file))
            } catch {
                throw .invalidFile("\(file): \(error)")
            }
        }
        let clusters = Set(snapshots.map(\.header.clusterID))
        guard clusters.count == 1 else {
            throw .invalidSet("the files come from different clusters (\(clusters.sorted().map(String.init).joined(separator: ", ")))")
        }
        let counts = Set(snapshots.map(\.header.shardCount))
        guard counts.count == 1, let shardCount = counts.first, shardCount > 0 else {
            throw .invalidSet("the files disagree on the cluster's shard count")
        }
        var seen: [ShardID: String] = [:]
        for snapshot in snapshots {
            if let other = seen[snapshot.header.shard] {
                throw .invalidSet("shard \(snapshot.header.shard) appears twice (\(other) and \(snapshot.file))")
            }
            guard snapshot.header.shard.rawValue >= 1, snapshot.header.shard.rawValue <= shardCount else {
                throw .invalidSet("\(snapshot.file) holds shard \(snapshot.header.shard), outside 1...\(shardCount)")
            }
            seen[snapshot.header.shard] = snapshot.file
        }
        var missing: [String] = []
        for number in 1...shardCount where seen[ShardID(number)] == nil { missing.append(String(number)) }
        guard missing.isEmpty else {
            throw .invalidSet("the set is incomplete: no snapshot of shard \(missing.joined(separator: ", ")) (the cluster has \(shardCount) shards)")
        }
        return snapshots.sorted { $0.header.shard < $1.header.shard }
    }

    /// The new cluster's identity: the same on every host given the same files, members and
    /// replica count. The count is part of it only when shards sit on fewer than all members
    /// (`replicaCount` non-nil), so hosts restored with different `--replicas`, which would
    /// place the shards differently, refuse each other.
    public static func restoredClusterID(_ snapshots: [ValidatedSnapshot], members: [ReplicaID: String],
                                         replicaCount: Int? = nil) -> UInt64 {
        var text = "restore:\(snapshots.first?.header.clusterID ?? 0)"
        for snapshot in snapshots {
            text += ":\(snapshot.header.shard)@\(snapshot.header.metadata.index)/\(snapshot.header.metadata.term)"
        }
        for member in members.keys.sorted() { text += ":\(member)=\(members[member]!)" }
        if let replicaCount { text += ":replicas=\(replicaCount)" }
        return ClusterIdentity.derive(from: text)
    }

    /// Writes the restored replicas into `store`, with their snapshot files under
    /// `snapshotDirectory`: of every shard, or, with `placement`, of the shards it places on
    /// `node`, each with the voters it places there. Returns the new cluster identity and the
    /// shards restored.
    public static func restore(_ snapshots: [ValidatedSnapshot], members: [ReplicaID: String],
                               placement: RestorePlacement? = nil, store: any HostLogStore,
                               snapshotDirectory: String) throws -> (clusterID: UInt64, shards: [ShardID]) {
        guard !members.isEmpty else { throw RestoreError.invalidSet("no members given") }
        let clusterID = restoredClusterID(snapshots, members: members, replicaCount: placement?.replicaCount)
        var updates: [ReplicaLogUpdate] = []
        for snapshot in snapshots {
            var members = members
            if let placement {
                let voters = Set(placement.voters(snapshot.header.shard))
                guard voters.contains(placement.node) else { continue }
                members = members.filter { voters.contains($0.key) }
            }
            let old = snapshot.header.metadata
            let index = old.index.next
            let term = old.term.next
            var removed = old.membership.removed
            for member in old.membership.members where members[member] == nil { removed.insert(member) }
            let membership = Membership(voters: members, observers: [:], removed: removed, configurationIndex: index)
            let metadata = SnapshotMetadata(index: index, term: term, membership: membership)
            let directory = "\(snapshotDirectory)/shard-\(snapshot.header.shard)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let file = "\(directory)/snapshot-\(index)-\(term).flsnap"
            let header = SnapshotFile.Header(clusterID: clusterID, shard: snapshot.header.shard,
                                             shardCount: snapshot.header.shardCount, metadata: metadata)
            try SnapshotFile.write(header, stateMachine: snapshot.stateMachine, to: file)
            var update = ReplicaLogUpdate(shard: snapshot.header.shard)
            update.record = ReplicaRecord(origin: .restore)
            update.snapshot = StoredSnapshot(metadata: metadata, file: file)
            update.hardState = HardState(term: term, vote: .none, commit: index)
            updates.append(update)
        }
        try store.persist(updates)
        return (clusterID, updates.map(\.shard))
    }
}
