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

    /// Writes the files; the shard count last, as first boot does (its presence means done).
    public static func finish(directory: String, shardCount: UInt64, replicaCount: Int, members: [ReplicaID: String]) throws {
        let voters = min(replicaCount, members.count)
        try "\(voters)\n".write(toFile: directory + "/" + HostRuntime.replicaCountFile, atomically: true, encoding: .utf8)
        try HostRuntime.writeSeedMembers(members, toFile: directory + "/" + HostRuntime.seedMembersFile)
        try "\(shardCount)\n".write(toFile: directory + "/" + HostRuntime.shardCountFile, atomically: true, encoding: .utf8)
    }
}
