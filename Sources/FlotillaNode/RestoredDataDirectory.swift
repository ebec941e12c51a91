import FlotillaHost
import FlotillaPlacement
import FlotillaRaft
import Foundation

/// What `flotilla restore` leaves in a data dir besides the store, so that `flotilla serve` on
/// it finds a finished first boot: the shard count, the replica count and the members, under
/// the names the host reads them by (`HostRuntime`).
public enum RestoredDataDirectory {
    /// Where the restored shards go: placed as a new cluster's would be with `--replicas`
    /// `replicaCount` (nil when every member holds every shard, which keeps the identity that
    /// restores had before placement).
    public static func placement(node: ReplicaID, members: [ReplicaID: String], replicaCount: Int,
                                 shardCount: UInt64) -> RestorePlacement? {
        let placement = RendezvousPlacement(members: members.keys, replicaCount: replicaCount, shardCount: shardCount)
        guard !placement.placesEveryMemberEverywhere else { return nil }
        return RestorePlacement(node: node, replicaCount: placement.replicaCount) { placement.voters(of: $0) }
    }

    /// The meta shard (the cluster map), on the same up to three members a new cluster of
    /// these members would put it, with the restored members as its host list (the map is
    /// implicit until it first changes: the seed members, all active). Written only on those
    /// members; answers whether this node is one.
    public static func bootstrapMetaShard(node: ReplicaID, members: [ReplicaID: String], store: any HostLogStore) throws -> Bool {
        let membership = MetaShard.membership(members: members)
        guard membership.voters.contains(node) else { return false }
        try store.persist([ReplicaLogUpdate.bootstrap(MetaShard.id, membership: membership)])
        return true
    }

    /// Writes the files; the shard count last, as first boot does (its presence means done).
    /// `withMetaShard` false leaves the data dir as restores before the meta shard did (no
    /// marker), which `flotilla serve` brings up to date.
    public static func finish(directory: String, shardCount: UInt64, replicaCount: Int, members: [ReplicaID: String],
                              withMetaShard: Bool = true) throws {
        if withMetaShard { try MetaShard.writeMarker(directory: directory, members: members) }
        let voters = min(replicaCount, members.count)
        try "\(voters)\n".write(toFile: directory + "/" + HostRuntime.replicaCountFile, atomically: true, encoding: .utf8)
        try HostRuntime.writeSeedMembers(members, toFile: directory + "/" + HostRuntime.seedMembersFile)
        try "\(shardCount)\n".write(toFile: directory + "/" + HostRuntime.shardCountFile, atomically: true, encoding: .utf8)
    }
}
