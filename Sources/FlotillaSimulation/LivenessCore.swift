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
///
/// A quorum is not enough when the most up-to-date log in it belongs to a replica that may
/// not campaign by design: an observer (in its own applied and latest configuration) never
/// does, and the voters with shorter logs cannot win without it (the simulator found one:
/// voters 3,8 and observer 12, 12 holding a later term than 3, 3 holding a promotion of 12
/// that 12 never received). So the core must also hold, among its most up-to-date logs, one
/// of a replica allowed to campaign (a voter in its applied or latest configuration): that
/// replica gets every core vote, and its latest configuration is one of those above.
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
        /// Its log's last entry, for Raft's up-to-date comparison.
        public var lastTerm: Term
        public var lastIndex: LogIndex
        /// Whether the design lets it campaign: a voter in its applied or latest configuration,
        /// and not removed by an applied change.
        public var mayCampaign: Bool

        public init(replica: ReplicaID, configurations: [Membership], committedConfigurationIndex: LogIndex,
                    lastTerm: Term, lastIndex: LogIndex, mayCampaign: Bool) {
            self.replica = replica
            self.configurations = configurations
            self.committedConfigurationIndex = committedConfigurationIndex
            self.lastTerm = lastTerm
            self.lastIndex = lastIndex
            self.mayCampaign = mayCampaign
        }
    }

    /// Reads the configurations in a durable log: the snapshot's, then one per membership entry.
    /// A live replica passes its `node` (its applied and latest configurations and last entry
    /// count); a replica that is down restarts from the storage alone, applied at its snapshot.
    public static func configurations(of replica: ReplicaID, storage: MemoryRaftLog, commit: LogIndex, node: RaftNode?) -> ReplicaConfigurations {
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
        let applied = node?.membership ?? storage.snapshot.membership
        let latest = node?.latestMembership ?? current
        if let node { list += [node.membership, node.latestMembership] }
        let mayCampaign = !applied.removed.contains(replica) && (applied.isVoter(replica) || latest.isVoter(replica))
        return ReplicaConfigurations(
            replica: replica, configurations: list, committedConfigurationIndex: committedIndex,
            lastTerm: node?.lastTerm ?? storage.term(at: storage.lastIndex) ?? .zero,
            lastIndex: node?.lastIndex ?? storage.lastIndex, mayCampaign: mayCampaign)
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
        let byReplica = Dictionary(uniqueKeysWithValues: data.map { ($0.replica, $0) })
        var eligible = Set(configurations.flatMap(\.voters)).intersection(existing)
        guard isQuorumOfAll(eligible, configurations), canElect(eligible, byReplica) else {
            return LivenessCore(configurations: configurations, replicas: [])
        }
        var order = eligible.sorted()
        for position in order.indices.reversed() {
            order.swapAt(position, Int(random.below(UInt64(position + 1))))
        }
        for candidate in order {
            var smaller = eligible
            smaller.remove(candidate)
            if isQuorumOfAll(smaller, configurations) && canElect(smaller, byReplica) && random.chance(0.8) {
                eligible = smaller
            }
        }
        return LivenessCore(configurations: configurations, replicas: eligible.sorted())
    }

    /// Whether a replica allowed to campaign holds one of the most up-to-date logs of `core`.
    static func canElect(_ core: Set<ReplicaID>, _ data: [ReplicaID: ReplicaConfigurations]) -> Bool {
        let members = core.compactMap { data[$0] }
        guard let best = members.map({ ($0.lastTerm, $0.lastIndex) }).max(by: <) else { return false }
        return members.contains { $0.mayCampaign && $0.lastTerm == best.0 && $0.lastIndex == best.1 }
    }

    static func isQuorumOfAll(_ core: Set<ReplicaID>, _ configurations: [Membership]) -> Bool {
        configurations.allSatisfy { configuration in
            configuration.voters.filter(core.contains).count >= configuration.quorum
        }
    }
}
