import FlotillaRaft

/// Chooses the replicas that stay up and connected for good once a liveness run's faults end
/// (TigerBeetle's VOPR calls them the core), so that a stuck cluster is a real bug and never a
/// legitimately unavailable one.
///
/// Which configuration governs the shard after the faults is not known: the latest committed
/// configuration, or any configuration appended after it in some replica's log, may be the one
/// the next leader uses. So the core must hold a quorum of the voters of *every* configuration
/// that could still come into effect:
/// - a configuration older than the latest committed one (by configuration index) never comes
///   back, since every future leader holds the committed entry (leader completeness);
/// - every configuration at or after it, in any replica's durable log or in a live replica's
///   latest configuration, might. Over-including is safe (it only narrows the choice of core).
/// If a majority of one of these is gone, the shard may be legitimately stuck: the run then
/// restarts and heals everything instead, as the ordinary mode does.
public struct LivenessCore: Sendable, Equatable {
    /// The configurations that could still be in effect, each a set of voters and its quorum.
    public var configurations: [Membership]
    /// The chosen core, sorted; empty when no replica set is a quorum of every configuration.
    public var replicas: [ReplicaID]

    /// What one replica's data says about configurations.
    public struct ReplicaConfigurations: Sendable {
        public var replica: ReplicaID
        /// Every configuration in its log from its snapshot on, in log order.
        public var configurations: [Membership]
        /// The configuration index of the latest configuration at or below its commit index.
        public var committedConfigurationIndex: LogIndex

        public init(replica: ReplicaID, configurations: [Membership], committedConfigurationIndex: LogIndex) {
            self.replica = replica
            self.configurations = configurations
            self.committedConfigurationIndex = committedConfigurationIndex
        }
    }

    /// Reads the configurations in a durable log: the snapshot's, then one per membership entry.
    /// `extra` adds what a live replica knows beyond its storage (its latest configuration).
    public static func configurations(of replica: ReplicaID, storage: MemoryRaftLog, commit: LogIndex, extra: [Membership]) -> ReplicaConfigurations {
        var current = storage.snapshot.membership
        var list = [current]
        var committedIndex = current.configurationIndex
        if storage.lastIndex > storage.snapshot.index {
            let entries = storage.entries(from: storage.snapshot.index.next, through: storage.lastIndex, bytesMax: Int.max)
            for entry in entries {
                guard case .membershipChange(let change) = entry.payload else { continue }
                current.apply(change, at: entry.index)
                list.append(current)
                if entry.index <= commit { committedIndex = current.configurationIndex }
            }
        }
        list.append(contentsOf: extra)
        return ReplicaConfigurations(replica: replica, configurations: list, committedConfigurationIndex: committedIndex)
    }

    /// Picks a random core that is a quorum of every configuration that could still be in
    /// effect, as small as `random` makes it (each unneeded member is dropped with probability
    /// 0.8), or an empty core when none exists.
    static func choose(from data: [ReplicaConfigurations], existing: Set<ReplicaID>, random: inout SeededRandomSource) -> LivenessCore {
        let committedIndex = data.map(\.committedConfigurationIndex).max() ?? .zero
        var configurations: [Membership] = []
        for replicaData in data {
            for configuration in replicaData.configurations
            where configuration.configurationIndex >= committedIndex && !configurations.contains(configuration) {
                configurations.append(configuration)
            }
        }
        var eligible = Set(configurations.flatMap(\.voters)).intersection(existing)
        guard isQuorumOfAll(eligible, configurations) else {
            return LivenessCore(configurations: configurations, replicas: [])
        }
        var order = eligible.sorted()
        for position in order.indices.reversed() {
            order.swapAt(position, Int(random.below(UInt64(position + 1))))
        }
        for candidate in order {
            var smaller = eligible
            smaller.remove(candidate)
            if isQuorumOfAll(smaller, configurations) && random.chance(0.8) {
                eligible = smaller
            }
        }
        return LivenessCore(configurations: configurations, replicas: eligible.sorted())
    }

    static func isQuorumOfAll(_ core: Set<ReplicaID>, _ configurations: [Membership]) -> Bool {
        configurations.allSatisfy { configuration in
            configuration.voters.filter(core.contains).count >= configuration.quorum
        }
    }
}
