import FlotillaPlacement
import FlotillaRaft
import Foundation

/// The meta shard: a Raft group of its own, outside the data shards `1...K`, whose key-value
/// state holds the cluster map (`ClusterMap`, under one key). The map is replicated like any
/// shard's data, so the host list and the moves in progress outlive any host, and whoever leads
/// the meta shard drives the moves (`ReplicaMover`).
///
/// At creation it lives on up to three of the members, those ranking highest by rendezvous
/// weight for its id, which every host computes alike; a host holding none of it relays to
/// them first. It moves only off a host that is drained.
enum MetaShard {
    /// Zero: never a data shard (those are `1...K`), so no key maps to it and `STATUS 0` stays
    /// out of range.
    static let id = ShardID(0)
    /// The one key of the meta shard: the cluster map's text.
    static let mapKey: [UInt8] = Array("cluster-map".utf8)
    /// Voters of the meta shard: enough to outlive one lost host, few enough to stay cheap.
    static let replicaCountMax = 3

    /// Written in a data dir once its host knows where the meta shard is (created, restored,
    /// joined, or a data dir from before the meta shard brought up to date): from then on the
    /// host never bootstraps the meta shard, whatever the store holds.
    static let markerFile = "meta-shard"

    /// The meta shard's voters at creation.
    static func voters(members: some Sequence<ReplicaID>) -> [ReplicaID] {
        let placement = RendezvousPlacement(members: members, replicaCount: replicaCountMax, shardCount: 0)
        return Array(placement.ranking(of: id).prefix(replicaCountMax))
    }

    /// The meta shard's membership at creation: its voters with their addresses in `members`.
    static func membership(members: [ReplicaID: String]) -> Membership {
        Membership(voters: Dictionary(uniqueKeysWithValues: voters(members: members.keys).map { ($0, members[$0]!) }))
    }

    static func writeMarker(directory: String, members: [ReplicaID: String]) throws {
        let voters = voters(members: members.keys).map(\.description).joined(separator: ",")
        try "voters at creation: \(voters)\n".write(toFile: directory + "/" + markerFile, atomically: true, encoding: .utf8)
    }
}
