import FlotillaRaft

/// Cluster identities: 64-bit values derived from text with FNV-1a, so that hosts booting
/// from the same `--members` and `--shards` agree without talking.
public enum ClusterIdentity {
    public static func derive(from text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash == 0 ? 1 : hash
    }

    /// The identity of a cluster created by first boot with these members and shard count, and
    /// the replica count when shards are placed on fewer than all members (nil: on every member,
    /// which gives the identity such clusters had before placement).
    public static func forNewCluster(members: [ReplicaID: String], shardCount: UInt64, replicaCount: Int? = nil) -> UInt64 {
        var text = "cluster:\(shardCount)"
        for member in members.keys.sorted() { text += ":\(member)=\(members[member]!)" }
        if let replicaCount { text += ":replicas=\(replicaCount)" }
        return derive(from: text)
    }
}
