import FlotillaHost
import FlotillaLogStore
import FlotillaPlacement
import FlotillaRaft
import FlotillaTLS
import FlotillaTransport
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A running host: the LMDB store of its data dir, the NodeHost over it, and the TCP transport
/// to its peers. `open` performs first boot (bootstrap or join) when the data dir is new, and
/// otherwise recovers every replica from the data dir, whatever the flags say.
public final class HostRuntime: @unchecked Sendable {
    public struct Options: Sendable {
        public var nodeID: ReplicaID
        public var dataDirectory: String
        public var raftAddress: String
        public var members: [ReplicaID: String]
        public var shardCount: UInt64
        public var join: Bool
        /// Voters per shard at creation (`--replicas`), placed over the members by rendezvous
        /// hashing; capped at the number of members, so with three or fewer every member holds
        /// every shard.
        public var replicaCount: Int = 3
        public var tickMilliseconds: Int = 50
        public var snapshotEveryEntries: UInt64 = 10_000
        /// Step workers (`--workers`): one per two cores. Measured on 2 cores with three hosts
        /// on the box: one worker per host is 10-15% faster than two (fewer wake-ups, larger
        /// group commits).
        public var workerCount: Int = max(1, System.coreCount / 2)
        /// Event loops shared by the client port and the raft port (`--threads`).
        public var threadCount: Int = System.coreCount
        /// Mutual TLS between hosts (`--tls-cert`, `--tls-key`, `--tls-ca`); nil: plain TCP.
        public var tls: TLSContexts?
        /// The most the LMDB log store may grow to (`--store-size-max`): beyond it writes are
        /// refused (`BUSY`, with the reason) and reads go on, as on a full disk.
        public var storeSizeBytesMax: Int = LogStoreConfiguration(nodeID: 1).mapSizeBytesMax

        public init(nodeID: ReplicaID, dataDirectory: String, raftAddress: String, members: [ReplicaID: String],
                    shardCount: UInt64, join: Bool) {
            self.nodeID = nodeID
            self.dataDirectory = dataDirectory
            self.raftAddress = raftAddress
            self.members = members
            self.shardCount = shardCount
            self.join = join
        }
    }

    public let options: Options
    public let store: LogStore
    public let nodeHost: NodeHost
    public let transport: TCPTransport
    /// The host's event loops: client connections and peer connections alike, so a request and
    /// its relay stay on one thread.
    public let eventLoopGroup: MultiThreadedEventLoopGroup
    /// The cluster's shard count: from the data dir after first boot; zero on a joining host
    /// until a peer's hello tells it.
    public var shardCount: UInt64 { knownShardCount.value.load(ordering: .acquiring) }
    private let knownShardCount: ShardCountCell
    /// The cluster's voters as given at first boot, for reaching someone when this host holds
    /// no replica of a shard.
    public let seedMembers: [ReplicaID: String]
    /// Where the shards were placed at first boot: `--replicas` of the seed members for each
    /// shard. The shards' memberships are the truth once they change; this is where to look
    /// first for a shard this host does not hold, and what `PLACEMENT` reports against.
    public let placement: RendezvousPlacement
    /// Where the host's events go (the replica mover reports its moves there too).
    public let events: HostEventSink

    static let shardCountFile = "shard-count"
    static let seedMembersFile = "seed-members"
    /// The `--replicas` of first boot. A data dir from before placement has none: every seed
    /// member was a voter of every shard then.
    static let replicaCountFile = "replica-count"

    /// The seed members as `--members` spells them, for the seed-members file.
    static func writeSeedMembers(_ members: [ReplicaID: String], toFile path: String) throws {
        let text = members.keys.sorted().map { "\($0)=\(members[$0]!)" }.joined(separator: ",")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// `events` receives one event per thing that happened (an election, a membership change,
    /// a snapshot, a peer connected or lost), never one per request.
    public static func open(_ options: Options, events: @escaping HostEventSink) throws -> HostRuntime {
        guard options.nodeID.rawValue > 0 else { throw HostRuntimeError.invalidOption("--node-id must be a positive integer") }
        guard options.shardCount > 0, options.shardCount <= 65_536 else { throw HostRuntimeError.invalidOption("--shards must be 1...65536") }
        guard options.replicaCount >= 1 else { throw HostRuntimeError.invalidOption("--replicas must be at least 1") }
        guard let (host, port) = splitHostPort(options.raftAddress) else {
            throw HostRuntimeError.invalidOption("--raft-addr '\(options.raftAddress)' is not HOST:PORT")
        }
        let store: LogStore
        do {
            var configuration = LogStoreConfiguration(nodeID: options.nodeID.rawValue)
            configuration.mapSizeBytesMax = options.storeSizeBytesMax
            configuration.mapSizeBytesInitial = min(configuration.mapSizeBytesInitial, options.storeSizeBytesMax)
            store = try LogStore(directory: options.dataDirectory, configuration: configuration)
        } catch {
            throw HostRuntimeError.dataDirectory("\(error)")
        }
        do {
            return try HostRuntime(options: options, store: store, listenHost: host, listenPort: port, events: events)
        } catch {
            store.close()
            throw error
        }
    }

    private init(options: Options, store: LogStore, listenHost: String, listenPort: Int, events: @escaping HostEventSink) throws {
        self.options = options
        self.store = store
        self.events = events
        let hostStore = LMDBHostLogStore(store: store)
        let existing = try hostStore.loadReplicas()
        let shardCountPath = options.dataDirectory + "/" + Self.shardCountFile
        // The shard-count file holds the cluster's shard count, or "join" on a host that joined
        // and has not heard from a peer yet. It is written last at first boot: until it
        // exists, first boot is not finished and is resumed (a crash midway bootstraps the
        // missing shards next time); once it exists, no flag makes the host bootstrap again.
        let recorded = (try? String(contentsOfFile: shardCountPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let recordedShardCount = recorded.flatMap { UInt64($0) }
        let firstBoot = recorded == nil
        var clusterID = store.identity.clusterID
        var members = options.members
        // The replica count is written before the shard count, so a first boot resumed after a
        // crash places the remaining shards as the first attempt did.
        let replicaCountPath = options.dataDirectory + "/" + Self.replicaCountFile
        let recordedReplicaCount = (try? String(contentsOfFile: replicaCountPath, encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        if firstBoot && !options.join && members[options.nodeID] == nil {
            throw HostRuntimeError.invalidOption("--members does not include this host's node id \(options.nodeID)")
        }
        let creationPlacement = firstBoot && !options.join
            ? RendezvousPlacement(members: options.members.keys, replicaCount: recordedReplicaCount ?? options.replicaCount,
                                  shardCount: options.shardCount)
            : nil
        if let creationPlacement {
            // Hosts given different --replicas would place shards differently: with the count
            // in the identity they refuse each other instead. Left out when every member holds
            // every shard, so such clusters keep the identity they always had.
            clusterID = ClusterIdentity.forNewCluster(
                members: members, shardCount: options.shardCount,
                replicaCount: creationPlacement.placesEveryMemberEverywhere ? nil : creationPlacement.replicaCount)
            try store.writeSynchronously(WriteBatch(clusterID: clusterID))
            if recordedReplicaCount == nil {
                try "\(creationPlacement.replicaCount)\n".write(toFile: replicaCountPath, atomically: true, encoding: .utf8)
            }
        }
        let joining = (firstBoot && options.join) || recorded == "join"
        let shardCount: UInt64 = joining ? 0 : (recordedShardCount ?? options.shardCount)
        knownShardCount = ShardCountCell(shardCount)
        // The hosts to relay through when this host holds no replica of a shard: the
        // `--members` of first boot, kept in the data dir (later flags do not change them).
        let seedPath = options.dataDirectory + "/" + Self.seedMembersFile
        if firstBoot { try Self.writeSeedMembers(options.members, toFile: seedPath) }
        let savedSeeds = (try? String(contentsOfFile: seedPath, encoding: .utf8)).flatMap { try? MemberList.parse($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        seedMembers = savedSeeds ?? options.members
        // A joining host knows neither the cluster's replica count nor its shard count: it
        // guesses the default, which only orders the hosts it relays to.
        if let creationPlacement {
            placement = creationPlacement
        } else {
            placement = RendezvousPlacement(members: seedMembers.keys,
                                            replicaCount: recordedReplicaCount ?? (joining ? options.replicaCount : seedMembers.count),
                                            shardCount: shardCount)
        }
        members = seedMembers
        members[options.nodeID] = nil

        var transportConfiguration = TCPTransportConfiguration(
            nodeID: options.nodeID, clusterID: clusterID, listenHost: listenHost, listenPort: listenPort,
            snapshotReceiveDirectory: options.dataDirectory + "/incoming")
        transportConfiguration.forwardTimeoutMilliseconds = 10_000
        transportConfiguration.advertisedAddress = options.raftAddress
        transportConfiguration.shardCount = shardCount
        transportConfiguration.tls = options.tls
        eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.threadCount))
        transport = TCPTransport(configuration: transportConfiguration, sharing: eventLoopGroup)
        transport.onEvent(events)
        transport.updateAddresses(members)

        var configuration = NodeHostConfiguration(nodeID: options.nodeID, clusterID: clusterID, dataDirectory: options.dataDirectory)
        configuration.shardCount = shardCount
        configuration.tickMilliseconds = options.tickMilliseconds
        configuration.workerCount = options.workerCount
        configuration.snapshotEveryEntries = options.snapshotEveryEntries
        configuration.compactionKeepEntries = min(1_000, options.snapshotEveryEntries / 2)
        nodeHost = try NodeHost(configuration: configuration, store: hostStore, transport: transport, events: events)
        transport.setReceiver(nodeHost)
        let nodeHost = self.nodeHost
        let known = knownShardCount
        transport.onClusterIdentityAdopted { identity, count in
            // The shard count first: a host stopped between the two writes then knows its count
            // and learns the identity again from a peer (the transport also hands the count to a
            // host that knows its cluster but not the count).
            if count > 0 {
                nodeHost.setShardCount(count)
                known.value.store(count, ordering: .releasing)
                try? "\(count)\n".write(toFile: shardCountPath, atomically: true, encoding: .utf8)
            }
            nodeHost.adoptClusterIdentity(identity)
            try? store.writeSynchronously(WriteBatch(clusterID: identity))
            events(HostEvent(.notice, "joined cluster \(String(identity, radix: 16)) of \(count) shards"))
        }
        if let creationPlacement {
            // Only the shards placed here, each with exactly its placed voters: every host
            // computes the same placement, so each shard's voters write the same bootstrap log.
            let present = Set(existing.map(\.shard))
            var placedHere = 0
            for number in 1...options.shardCount {
                let shard = ShardID(number)
                let voters = creationPlacement.voters(of: shard)
                guard voters.contains(options.nodeID) else { continue }
                placedHere += 1
                guard !present.contains(shard) else { continue }
                let membership = Membership(voters: Dictionary(uniqueKeysWithValues: voters.map { ($0, options.members[$0]!) }))
                try nodeHost.bootstrapShard(shard, membership: membership)
            }
            // The meta shard (the cluster map) on up to three of the members, chosen alike by all.
            let metaMembership = MetaShard.membership(members: options.members)
            if metaMembership.voters.contains(options.nodeID) && !present.contains(MetaShard.id) {
                try nodeHost.bootstrapShard(MetaShard.id, membership: metaMembership)
            }
            // One summary line for every shard's initial membership (the changes each replica
            // applies from its bootstrap log are logged at debug).
            if creationPlacement.placesEveryMemberEverywhere {
                events(HostEvent(.notice, "bootstrapped \(options.shardCount) shards with voters \(options.members.keys.sorted().map(\.description).joined(separator: ","))"))
            } else {
                events(HostEvent(.notice, "bootstrapped \(placedHere) of \(options.shardCount) shards, each placed on \(creationPlacement.replicaCount) of the \(options.members.count) members"))
            }
        } else if existing.contains(where: { $0.shard != MetaShard.id }) {
            let recovered = existing.filter { $0.shard != MetaShard.id }
            // From its stored state when that is at or past its snapshot; else from the
            // snapshot's file (and the log after it).
            let fromFiles = recovered.filter { stored in
                guard let snapshot = stored.snapshot, snapshot.metadata.index > .zero else { return false }
                return (stored.stateApplied?.index ?? .zero) < snapshot.metadata.index
            }.count
            events(HostEvent(.notice, "recovered \(recovered.count) replicas of \(shardCount) shards from \(options.dataDirectory) "
                             + "(\(recovered.count - fromFiles) from their stored state, \(fromFiles) from snapshot files)"))
        }
        let metaMarkerPath = options.dataDirectory + "/" + MetaShard.markerFile
        if !firstBoot && !joining && !FileManager.default.fileExists(atPath: metaMarkerPath)
            && !existing.contains(where: { $0.shard == MetaShard.id }) && seedMembers[options.nodeID] != nil {
            // A data dir from before the meta shard (or restored by a version without it): the
            // hosts it was created with bootstrap it now as creation would have, its voters
            // computed from the persisted creation members, so every member picks the same
            // ones and only those bootstrap. The marker makes this a one-time decision.
            let metaMembership = MetaShard.membership(members: seedMembers)
            if metaMembership.voters.contains(options.nodeID) {
                try nodeHost.bootstrapShard(MetaShard.id, membership: metaMembership)
                events(HostEvent(.notice, "this data dir predates the meta shard: bootstrapped it with voters "
                                 + metaMembership.voters.map(\.description).joined(separator: ",")))
            }
        }
        if firstBoot {
            try (options.join ? "join\n" : "\(options.shardCount)\n").write(toFile: shardCountPath, atomically: true, encoding: .utf8)
        }
        if !FileManager.default.fileExists(atPath: metaMarkerPath) {
            // Not fatal (a full disk must not keep a host from serving reads): without the
            // marker the next boot decides again from the same store and seed members, and a
            // meta replica, once there, stays in the store (removed ones included).
            try? MetaShard.writeMarker(directory: options.dataDirectory, members: seedMembers)
        }
    }

    /// Binds the raft port and starts the shards.
    public func start() throws {
        do {
            try transport.start()
        } catch {
            throw HostRuntimeError.startup(ListenFailure.message(flag: "--raft-addr", address: options.raftAddress, error: error))
        }
        nodeHost.start()
    }

    /// Stops the shards (waiting requests fail with `shuttingDown`), the transport, the store.
    public func stop() {
        nodeHost.stop()
        transport.shutdown()
        store.close()
        try? eventLoopGroup.syncShutdownGracefully()
    }
}

/// The shard count, shared with the transport's callback.
final class ShardCountCell: Sendable {
    let value: Atomic<UInt64>
    init(_ initial: UInt64) { value = Atomic(initial) }
}
