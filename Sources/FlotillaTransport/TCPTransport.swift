import FlotillaEventLoop
import FlotillaHost
import FlotillaRaft
import FlotillaTLS
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The SwiftNIO transport between hosts: one long-lived connection per peer for Raft messages
/// (the messages of many shards share a frame), a separate connection per snapshot transfer
/// so that chunks never queue ahead of heartbeats, a cluster identity in the handshake, bounded
/// queues that drop rather than block, reconnection with backoff that resolves the peer's name
/// again each time, and request forwarding between hosts.
///
/// There is one link per peer for each event loop. Raft messages use the first loop's link
/// (all shards' messages to a peer share its frames); a request relayed from a connection's
/// loop uses that loop's link, so a relay and its answer never leave the thread that read
/// the client's request.
public final class TCPTransport: HostTransport {
    public let configuration: TCPTransportConfiguration
    public let group: MultiThreadedEventLoopGroup
    /// False when the loops are shared with the rest of the host: `shutdown` then leaves them
    /// running for their owner to stop.
    let ownsGroup: Bool
    let loops: [any EventLoop]
    private let loopPositions: [ObjectIdentifier: Int]
    let mailboxes: EventLoopMailboxes
    let assembler: SnapshotAssembler
    private let receiver = Mutex<(any HostMessageReceiver)?>(nil)
    private let forwardHandler = Mutex<(any ForwardRequestHandler)?>(nil)
    private let peers = Mutex<[ReplicaID: [PeerLink]]>([:])
    private let addresses = Mutex<[ReplicaID: String]>([:])
    let clusterIdentity: Atomic<UInt64>
    /// Closures are held in structs: a bare closure read out of a `Mutex` gains a thunk on every
    /// read (see `LogStoreStatistics`).
    private struct IdentityHandler: Sendable { let call: @Sendable (UInt64, UInt64) -> Void }
    private struct EventSink: Sendable { let call: HostEventSink }
    private let adoptedIdentity = Mutex<IdentityHandler?>(nil)
    /// The cluster's shard count as far as this host knows (zero on a joining host until a
    /// peer's hello tells it).
    let shardCount: Atomic<UInt64>
    let statistics = Mutex(TCPTransportStatistics())
    /// Bytes sent and received, for the metrics endpoint.
    public let counters = TransportCounters()
    private let eventSink = Mutex<EventSink?>(nil)
    private let serverChannel = Mutex<Channel?>(nil)
    let transferCounter = Atomic<UInt64>(UInt64(UInt32.random(in: 1...UInt32.max)) << 20)

    public convenience init(configuration: TCPTransportConfiguration, threads: Int = 2) {
        self.init(configuration: configuration, group: MultiThreadedEventLoopGroup(numberOfThreads: threads), ownsGroup: true)
    }

    /// A transport on the loops of `group`, which the caller owns and stops.
    public convenience init(configuration: TCPTransportConfiguration, sharing group: MultiThreadedEventLoopGroup) {
        self.init(configuration: configuration, group: group, ownsGroup: false)
    }

    private init(configuration: TCPTransportConfiguration, group: MultiThreadedEventLoopGroup, ownsGroup: Bool) {
        self.configuration = configuration
        self.group = group
        self.ownsGroup = ownsGroup
        loops = Array(group.makeIterator())
        var positions: [ObjectIdentifier: Int] = [:]
        for (position, loop) in loops.enumerated() { positions[ObjectIdentifier(loop)] = position }
        loopPositions = positions
        mailboxes = EventLoopMailboxes(group: group)
        assembler = SnapshotAssembler(directory: configuration.snapshotReceiveDirectory)
        clusterIdentity = Atomic(configuration.clusterID)
        shardCount = Atomic(configuration.shardCount)
    }

    public var currentStatistics: TCPTransportStatistics { statistics.withLock { $0 } }

    /// Where peer connections made and lost are reported (one event each, never per message).
    public func onEvent(_ sink: @escaping HostEventSink) { eventSink.withLock { $0 = EventSink(call: sink) } }

    func report(_ event: HostEvent) { eventSink.withLock { $0 }?.call(event) }

    /// A TLS handshake with a peer failed: logged with the peer's address, and counted.
    func handshakeRefused(peer: String, node: ReplicaID?, error: any Error, inbound: Bool) {
        counters.tlsHandshakesRefused.wrappingAdd(1, ordering: .relaxed)
        let direction = inbound ? "from" : "with"
        report(HostEvent(.warning, "refused the TLS handshake \(direction) peer at \(peer): \(error)", peer: node))
    }

    /// The TLS handlers for a connection this host makes (a link or a snapshot transfer): the
    /// accepting peer's certificate must be a member's (`MemberCertificateRule`), as the raft
    /// port requires of the connecting one.
    func addClientTLS(to channel: any Channel, address: String, node: ReplicaID, completed: @escaping () -> Void = {}) throws {
        guard let tls = configuration.tls else { return }
        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls.contexts.peerClient, serverHostname: nil))
        try channel.pipeline.syncOperations.addHandler(TLSHandshakeWatcher(requiresMemberCertificate: true, completed: completed) { [self] _, error in
            handshakeRefused(peer: address, node: node, error: error, inbound: false)
        })
    }

    /// A connection with `peer` was made, either way: the host may wake shards for it.
    func peerConnected(_ peer: ReplicaID) {
        guard peer != configuration.nodeID, peer != .none else { return }
        receiver.withLock { $0 }?.peerConnected(peer)
    }
    /// An established connection with `peer` was lost: the host may wake shards it led.
    func peerLost(_ peer: ReplicaID) {
        guard peer != configuration.nodeID, peer != .none else { return }
        receiver.withLock { $0 }?.peerLost(peer)
    }

    public var clusterID: UInt64 { clusterIdentity.load(ordering: .acquiring) }

    /// Where messages from peers go; set before `start`.
    public func setReceiver(_ receiver: any HostMessageReceiver) { self.receiver.withLock { $0 = receiver } }

    /// Serves requests that other hosts forward here.
    public func setForwardHandler(_ handler: any ForwardRequestHandler) {
        forwardHandler.withLock { $0 = handler }
    }

    /// Serves forwarded requests with a closure (tests, tools).
    public func setForwardHandler(_ body: @escaping @Sendable ([UInt8]) async -> [UInt8]) {
        setForwardHandler(ClosureForwardHandler(body: body))
    }

    /// Called when a joining host learns its cluster's identity and shard count from a peer's
    /// hello: once, or again with the count when a restarted host knows its cluster but not yet
    /// the count.
    public func onClusterIdentityAdopted(_ handler: @escaping @Sendable (_ clusterID: UInt64, _ shardCount: UInt64) -> Void) {
        adoptedIdentity.withLock { $0 = IdentityHandler(call: handler) }
    }

    /// Binds the listening socket (with SO_REUSEADDR, so a host restarted right after a kill
    /// binds again at once).
    public func start() throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let corrupt: @Sendable () -> Void = { [self] in statistics.withLock { $0.framesCorrupt += 1 } }
                    if let tls = configuration.tls {
                        // The context current at accept time: a SIGHUP reload applies from the next connection.
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.contexts.peerServer))
                        try channel.pipeline.syncOperations.addHandler(TLSHandshakeWatcher(requiresMemberCertificate: true) { [self] peer, error in
                            handshakeRefused(peer: peer, node: nil, error: error, inbound: true)
                        })
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TransportFrameDecoder(onCorruptFrame: corrupt, counters: counters)))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(TransportFrameEncoder(counters: counters)))
                    try channel.pipeline.syncOperations.addHandler(InboundConnectionHandler(transport: self, mailbox: mailboxes.mailbox(for: channel.eventLoop)))
                }
            }
        let channel = try bootstrap.bind(host: configuration.listenHost, port: configuration.listenPort).wait()
        serverChannel.withLock { $0 = channel }
    }

    /// The port actually bound (useful when configured with port 0).
    public var boundPort: Int? { serverChannel.withLock { $0?.localAddress?.port } }

    public func shutdown() {
        if let channel = serverChannel.withLock({ $0 }) { try? channel.close().wait() }
        let links = peers.withLock { peers -> [PeerLink] in
            defer { peers = [:] }
            return peers.values.flatMap { $0 }
        }
        for link in links { link.close() }
        if ownsGroup {
            try? group.syncShutdownGracefully()
        } else {
            // Let the links finish closing before the owner stops the loops.
            for loop in loops { try? loop.submit {}.wait() }
        }
    }

    // MARK: - HostTransport

    public func updateAddresses(_ newAddresses: [ReplicaID: String]) {
        addresses.withLock { table in
            for (node, address) in newAddresses where node != configuration.nodeID { table[node] = address }
        }
        let links = peers.withLock { $0.values.flatMap { $0 } }
        for link in links {
            if let address = newAddresses[link.node] { link.setAddress(address) }
        }
    }

    /// Sets a peer's address directly (the `--members` list).
    public func setAddress(_ address: String, for node: ReplicaID) { updateAddresses([node: address]) }

    /// The link to `node` on the loop at `position`.
    func link(for node: ReplicaID, position: Int = 0) -> PeerLink? {
        if let existing = peers.withLock({ $0[node] }) { return existing[position] }
        guard let address = addresses.withLock({ $0[node] }) else { return nil }
        return peers.withLock { peers in
            if let existing = peers[node] { return existing[position] }
            let links = loops.enumerated().map { position, loop in
                PeerLink(node: node, address: address, transport: self, mailbox: mailboxes.mailbox(for: loop), carriesRaft: position == 0)
            }
            peers[node] = links
            return links[position]
        }
    }

    /// The position of the loop the caller runs on, or 0 when it runs on none of ours.
    func currentLoopPosition() -> Int {
        guard let current = MultiThreadedEventLoopGroup.currentEventLoop else { return 0 }
        return loopPositions[ObjectIdentifier(current)] ?? 0
    }

    public func send(_ messages: [ShardMessage]) {
        var byPeer: [ReplicaID: [ShardMessage]] = [:]
        for message in messages { byPeer[message.message.to, default: []].append(message) }
        for (node, batch) in byPeer {
            guard let link = link(for: node) else {
                statistics.withLock { $0.messagesDropped += batch.count }
                continue
            }
            // Cap frames near 8 MiB so one shard's catch-up never builds a giant frame.
            var writer = ByteWriter(capacity: 1024)
            var count: UInt32 = 0
            var body = ByteWriter(capacity: 1024)
            func flush() {
                guard count > 0 else { return }
                writer = ByteWriter(capacity: body.bytes.count + 4)
                writer.write(count)
                writer.writeRaw(body.bytes)
                link.enqueue(TransportFrame(kind: .messages, body: writer.bytes))
                body = ByteWriter(capacity: 1024)
                count = 0
            }
            for message in batch {
                body.write(message.shard.rawValue)
                RaftWireFormat.encode(message.message, into: &body)
                count += 1
                if body.bytes.count >= 8 << 20 { flush() }
            }
            flush()
        }
    }

    public func sendSnapshot(_ message: ShardMessage, file: String, completion: @escaping @Sendable (Bool) -> Void) {
        guard let address = addresses.withLock({ $0[message.message.to] }) else {
            completion(false)
            return
        }
        let transferID = transferCounter.add(1, ordering: .relaxed).newValue
        SnapshotSender(transport: self, address: address, message: message, file: file, transferID: transferID,
                       eventLoop: group.next(), completion: completion).start()
    }

    /// Relays an opaque request to `node`; `completion` runs on an event loop of this
    /// transport (the caller's, when it runs on one) with the answer or a `TCPTransportError`.
    public func forward(to node: ReplicaID, payload: [UInt8], timeoutMilliseconds: Int? = nil,
                        completion: @escaping @Sendable (Result<[UInt8], any Error>) -> Void) {
        guard let link = link(for: node, position: currentLoopPosition()) else {
            completion(.failure(TCPTransportError.unknownPeer(node)))
            return
        }
        link.forward(payload, timeoutMilliseconds: timeoutMilliseconds ?? configuration.forwardTimeoutMilliseconds, completion)
    }

    /// Relays an opaque request to `node` and waits for its answer.
    public func forward(to node: ReplicaID, payload: [UInt8]) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            forward(to: node, payload: payload) { continuation.resume(with: $0) }
        }
    }

    // MARK: - Inbound

    /// Checks a peer's hello; adopts the cluster identity when this host has none yet.
    /// A hello carries the sender's cluster identity, node id, the cluster's shard count and
    /// the sender's raft address. A peer of another cluster is refused. A joining host adopts
    /// identity and shard count; any host learns the address of a peer it has none for, so it
    /// can answer a leader that reached it before it knew the shard's members.
    func accept(hello body: [UInt8]) -> Bool {
        var reader = ByteReader(body)
        guard let peerCluster = try? reader.readUInt64(), let peerNode = try? reader.readUInt64() else { return false }
        let peerShardCount = (try? reader.readUInt64()) ?? 0
        let peerAddress = (try? reader.readString()) ?? ""
        let ours = clusterIdentity.load(ordering: .acquiring)
        if ours == 0 && peerCluster != 0 {
            let (exchanged, _) = clusterIdentity.compareExchange(expected: 0, desired: peerCluster, ordering: .acquiringAndReleasing)
            if exchanged {
                if peerShardCount > 0 { shardCount.store(peerShardCount, ordering: .releasing) }
                if let handler = adoptedIdentity.withLock({ $0 }) { handler.call(peerCluster, peerShardCount) }
            }
        } else if peerCluster != ours && peerCluster != 0 {
            statistics.withLock { $0.connectionsRefused += 1 }
            return false
        } else if peerCluster == ours, ours != 0, peerShardCount > 0, shardCount.load(ordering: .acquiring) == 0 {
            // A joining host stopped after recording its cluster but before the shard count:
            // it learns the count from the next peer instead of staying unjoined for good.
            let (exchanged, _) = shardCount.compareExchange(expected: 0, desired: peerShardCount, ordering: .acquiringAndReleasing)
            if exchanged, let handler = adoptedIdentity.withLock({ $0 }) { handler.call(ours, peerShardCount) }
        }
        let node = ReplicaID(peerNode)
        if !peerAddress.isEmpty, node != configuration.nodeID, node != .none {
            let known = addresses.withLock { $0[node] != nil }
            if !known { updateAddresses([node: peerAddress]) }
        }
        peerConnected(node)
        return true
    }

    func helloFrame() -> TransportFrame {
        var writer = ByteWriter(capacity: 64)
        writer.write(clusterIdentity.load(ordering: .acquiring))
        writer.write(configuration.nodeID.rawValue)
        writer.write(shardCount.load(ordering: .acquiring))
        writer.writeString(configuration.advertisedAddress)
        return TransportFrame(kind: .hello, body: writer.bytes)
    }

    func deliver(messagesFrame body: [UInt8]) {
        var reader = ByteReader(body)
        guard let count = try? reader.readUInt32() else { return }
        var messages: [ShardMessage] = []
        messages.reserveCapacity(Int(min(count, 65_536)))
        for _ in 0..<count {
            guard let shard = try? reader.readUInt64(), let message = try? RaftWireFormat.decodeMessage(from: &reader) else {
                statistics.withLock { $0.framesCorrupt += 1 }
                return
            }
            messages.append(ShardMessage(shard: ShardID(shard), message: message))
        }
        receiver.withLock { $0 }?.receive(messages)
    }

    func deliverSnapshot(_ message: ShardMessage, file: String) -> Bool {
        guard let receiver = receiver.withLock({ $0 }) else {
            unlink(file)
            return false
        }
        return receiver.receiveSnapshot(message, file: file)
    }

    func handleForward(_ payload: [UInt8], completion: @escaping @Sendable ([UInt8]) -> Void) {
        guard let handler = forwardHandler.withLock({ $0 }) else {
            completion([])
            return
        }
        handler.handleForward(payload, completion: completion)
    }
}
