import FlotillaHost
import FlotillaHostTesting
import FlotillaRaft
import FlotillaTransport
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// NodeHosts over real TCP sockets on 127.0.0.1 (ephemeral ports), with in-memory stores.
final class TCPTransportTests: XCTestCase {
    final class Node {
        let id: ReplicaID
        let transport: TCPTransport
        var host: NodeHost!
        let store = MemoryHostLogStore()
        init(id: ReplicaID, transport: TCPTransport) {
            self.id = id
            self.transport = transport
        }
        var address: String { "127.0.0.1:\(transport.boundPort!)" }
    }

    var root = ""
    var nodes: [Node] = []

    override func setUp() {
        root = NSTemporaryDirectory() + "flotilla-tcp-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for node in nodes {
            node.host?.stop()
            node.transport.shutdown()
        }
        nodes = []
        try? FileManager.default.removeItem(atPath: root)
    }

    func makeNode(_ id: UInt64, clusterID: UInt64 = 11, tune: (inout NodeHostConfiguration) -> Void = { _ in }) throws -> Node {
        let replica = ReplicaID(id)
        let transport = TCPTransport(configuration: TCPTransportConfiguration(
            nodeID: replica, clusterID: clusterID, listenHost: "127.0.0.1", listenPort: 0,
            snapshotReceiveDirectory: "\(root)/node-\(id)/incoming"))
        try transport.start()
        let node = Node(id: replica, transport: transport)
        var configuration = NodeHostConfiguration(nodeID: replica, clusterID: clusterID, dataDirectory: "\(root)/node-\(id)")
        configuration.tickMilliseconds = 10
        tune(&configuration)
        node.host = try NodeHost(configuration: configuration, store: node.store, transport: transport)
        transport.setReceiver(node.host)
        let host = node.host!
        transport.onClusterIdentityAdopted { identity, _ in host.adoptClusterIdentity(identity) }
        node.host.start()
        nodes.append(node)
        return node
    }

    func connectAll() {
        for node in nodes {
            for peer in nodes where peer.id != node.id { node.transport.setAddress(peer.address, for: peer.id) }
        }
    }

    func waitFor(_ what: String, timeoutSeconds: Double = 15, _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if await condition() { return }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTFail("timed out waiting for \(what)")
        throw CancellationError()
    }

    func leader(_ shard: UInt64) async throws -> Node {
        var found: Node?
        try await waitFor("a leader of shard \(shard)") {
            found = nodes.first { $0.host.role(in: ShardID(shard)) == .leader }
            return found != nil
        }
        return found!
    }

    func testThreeHostsReplicateAndReadOverTCP() async throws {
        for id in 1...3 { _ = try makeNode(UInt64(id)) }
        connectAll()
        let membership = Membership(voters: Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0.address) }))
        for node in nodes {
            for shard in 1...4 { try node.host.bootstrapShard(ShardID(UInt64(shard)), membership: membership) }
        }
        for shard in 1...4 as ClosedRange<UInt64> {
            let leader = try await leader(shard)
            for number in 0..<10 {
                let result = await leader.host.propose(ShardID(shard), .put(key: Array("k\(number)".utf8), value: Array("v\(shard)".utf8)))
                XCTAssertEqual(try result.get(), .ok)
            }
            for node in nodes {
                let value = try await node.host.read(ShardID(shard), key: Array("k9".utf8)).get()
                XCTAssertEqual(value, Array("v\(shard)".utf8), "node \(node.id)")
            }
        }
        XCTAssertEqual(nodes[0].transport.currentStatistics.framesCorrupt, 0)
    }

    func testObserverCatchesUpBySnapshotOverTCP() async throws {
        let tune: (inout NodeHostConfiguration) -> Void = {
            $0.snapshotEveryEntries = 50
            $0.compactionKeepEntries = 10
        }
        for id in 1...3 { _ = try makeNode(UInt64(id), tune: tune) }
        connectAll()
        let membership = Membership(voters: Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0.address) }))
        for node in nodes { try node.host.bootstrapShard(ShardID(1), membership: membership) }
        let leader = try await leader(1)
        let big = [UInt8](repeating: 7, count: 4_000)
        for number in 0..<300 {
            _ = try await leader.host.propose(ShardID(1), .put(key: Array("key-\(number)".utf8), value: big)).get()
        }
        let joiner = try makeNode(4, clusterID: 0, tune: tune)
        for node in nodes where node.id != joiner.id {
            node.transport.setAddress(joiner.address, for: joiner.id)
            joiner.transport.setAddress(node.address, for: node.id)
        }
        try await leader.host.addObserver(ShardID(1), node: joiner.id, address: joiner.address).get()
        let commit = try await leader.host.status(ShardID(1)).get().commit
        try await waitFor("the observer to apply the leader's commit") {
            guard let status = try? await joiner.host.status(ShardID(1)).get() else { return false }
            return status.applied >= commit
        }
        XCTAssertEqual(joiner.transport.clusterID, 11, "a joining host adopts the cluster identity of its peers")
        let value = try await joiner.host.staleRead(ShardID(1), key: Array("key-299".utf8)).get()
        XCTAssertEqual(value, big)
    }

    func testHostsOfAnotherClusterAreRefused() async throws {
        let first = try makeNode(1, clusterID: 11)
        let stranger = try makeNode(2, clusterID: 99)
        stranger.transport.setAddress(first.address, for: first.id)
        stranger.transport.send([ShardMessage(shard: ShardID(1), message: Message(
            from: stranger.id, to: first.id, term: Term(5), kind: .heartbeat(.init(commit: .zero, readRound: 0))))])
        try await waitFor("the handshake to be refused") { first.transport.currentStatistics.connectionsRefused > 0 }
        XCTAssertTrue(first.host.hostedShards.isEmpty, "no replica was created from a foreign cluster's message")
    }

    func testForwardedRequestsAreAnswered() async throws {
        let first = try makeNode(1)
        let second = try makeNode(2)
        connectAll()
        second.transport.setForwardHandler { payload in Array(payload.reversed()) }
        let answer = try await first.transport.forward(to: second.id, payload: [1, 2, 3])
        XCTAssertEqual(answer, [3, 2, 1])
    }

    /// A frame that fails its checksum is dropped and counted, never applied; the connection
    /// and later frames are unaffected.
    func testCorruptFramesAreCountedAndDropped() async throws {
        let node = try makeNode(1)
        let port = node.transport.boundPort!
        let socket = try XCTUnwrap(Self.connect(port: port))
        defer { close(socket) }
        func frame(kind: UInt8, body: [UInt8], corrupt: Bool) -> [UInt8] {
            var bytes: [UInt8] = []
            let length = UInt32(6 + body.count)
            withUnsafeBytes(of: length.bigEndian) { bytes += $0 }
            bytes += [1, kind]
            var checksum = CRC32C.checksum(body)
            if corrupt { checksum ^= 0xFFFF }
            withUnsafeBytes(of: checksum.bigEndian) { bytes += $0 }
            return bytes + body
        }
        var hello = ByteWriter()
        hello.write(UInt64(11))
        hello.write(UInt64(9))
        var message = ByteWriter()
        message.write(UInt32(1))
        message.write(UInt64(1))
        RaftWireFormat.encode(Message(from: ReplicaID(9), to: ReplicaID(1), term: Term(3),
                                      kind: .heartbeat(.init(commit: .zero, readRound: 0))), into: &message)
        let bytes = frame(kind: 1, body: hello.bytes, corrupt: false) + frame(kind: 2, body: message.bytes, corrupt: true)
        _ = bytes.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
        try await waitFor("the corrupt frame to be counted") { node.transport.currentStatistics.framesCorrupt == 1 }
        XCTAssertTrue(node.host.hostedShards.isEmpty, "nothing from the corrupt frame was applied")
    }

    /// Peers may be named by DNS name; the name is resolved on every (re)connection.
    func testPeersReachedByName() async throws {
        let first = try makeNode(1)
        let second = try makeNode(2)
        first.transport.setAddress("localhost:\(second.transport.boundPort!)", for: second.id)
        second.transport.setForwardHandler { _ in [42] }
        let answer = try await first.transport.forward(to: second.id, payload: [])
        XCTAssertEqual(answer, [42])
    }

    static func connect(port: Int) -> Int32? {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0 ? socket : nil
    }
}
