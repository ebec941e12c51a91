import FlotillaHost
import FlotillaPlacement
import FlotillaRaft

/// Reads and changes the cluster map on this host's replica of the meta shard, which must lead
/// it (a follower's reads and writes fail with `notLeader`, which the router relays). A change
/// is a compare-and-set of the whole map against the text it was computed from, retried on a
/// conflict, so concurrent changers (a rebalance planning, two moves advancing) never lose
/// each other's updates.
///
/// Before anything changed it, the map is implicit: the members the cluster was created with,
/// all active, and no moves. It is written the first time it changes (set only if absent).
struct ClusterMapStore: Sendable {
    let nodeHost: NodeHost
    /// The hosts of the implicit map: the `--members` of first boot. Only a creation member
    /// can lead the meta shard before the map is written, so only those are ever used.
    let seedMembers: [ReplicaID: String]
    let replicaCount: Int

    static let conflictRetriesMax = 50

    var initialMap: ClusterMap {
        ClusterMap(replicaCount: replicaCount,
                   hosts: seedMembers.mapValues { ClusterHost(address: $0, state: .active) })
    }

    /// The map and the stored text it came from (nil: not written yet), read linearizably.
    func read() async -> Result<(map: ClusterMap, stored: [UInt8]?), NodeHostError> {
        switch await nodeHost.query(MetaShard.id, .value(key: MetaShard.mapKey), linearizable: true) {
        case .success(.value(let stored?)):
            guard let map = ClusterMap(text: String(decoding: stored, as: UTF8.self)) else {
                return .failure(.failed("the cluster map in the meta shard does not parse"))
            }
            return .success((map, stored))
        case .success(.value(nil)):
            return .success((initialMap, nil))
        case .success:
            return .failure(.failed("unexpected answer reading the cluster map"))
        case .failure(let error):
            return .failure(error)
        }
    }

    /// Applies `change` to the current map and stores the result; `change` returns false to
    /// leave the map as it is (nothing is written). Answers the map as stored afterwards.
    func update(_ change: (inout ClusterMap) -> Bool) async -> Result<ClusterMap, NodeHostError> {
        for _ in 0..<Self.conflictRetriesMax {
            let current: (map: ClusterMap, stored: [UInt8]?)
            switch await read() {
            case .success(let read): current = read
            case .failure(let error): return .failure(error)
            }
            var map = current.map
            guard change(&map) else { return .success(current.map) }
            let text = Array(map.text.utf8)
            let command: KeyValueCommand = current.stored.map { .compareAndSet(key: MetaShard.mapKey, expected: $0, new: text) }
                ?? .set(key: MetaShard.mapKey, value: text, condition: .ifAbsent, expiry: .clear, returnsPrevious: false)
            switch await nodeHost.propose(MetaShard.id, command) {
            case .success(.ok), .success(.stored(true, _)): return .success(map)
            case .success(.mismatch), .success(.stored(false, _)): continue
            case .success(let other): return .failure(.failed("unexpected answer writing the cluster map: \(other)"))
            case .failure(let error): return .failure(error)
            }
        }
        return .failure(.busy("the cluster map kept changing under \(Self.conflictRetriesMax) attempts; retry"))
    }
}
