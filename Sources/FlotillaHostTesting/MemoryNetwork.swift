import Dispatch
import FlotillaHost
import FlotillaRaft
import Synchronization

/// An in-memory network between NodeHosts of one test process, with faults: dropped messages,
/// partitions, hosts that are down, and corrupted snapshot chunks. Snapshots travel as real
/// chunks through each host's `SnapshotAssembler`, so the same validation runs as over TCP.
public final class MemoryNetwork: Sendable {
    struct Endpoint {
        var receiver: any HostMessageReceiver
        var assembler: SnapshotAssembler
    }

    struct Faults {
        var random = SeededRandom(seed: 42)
        var dropProbability = 0.0
        var partition: [ReplicaID: Int] = [:]
        var corruptSnapshotChunks = 0
        var messagesDropped = 0
        var chunksCorrupted = 0
    }

    private let endpoints = Mutex<[ReplicaID: Endpoint]>([:])
    private let faults = Mutex(Faults())
    private let transferIDs = Atomic<UInt64>(1)
    let snapshotChunkBytes: Int

    public init(seed: UInt64 = 42, snapshotChunkBytes: Int = 64 << 10) {
        self.snapshotChunkBytes = snapshotChunkBytes
        faults.withLock { $0.random = SeededRandom(seed: seed) }
    }

    public func transport(for node: ReplicaID) -> MemoryTransport { MemoryTransport(network: self, node: node) }

    /// Connects a host; `snapshotDirectory` receives incoming snapshot chunks.
    public func attach(_ node: ReplicaID, receiver: any HostMessageReceiver, snapshotDirectory: String) {
        let others = endpoints.withLock { endpoints -> [any HostMessageReceiver] in
            endpoints[node] = Endpoint(receiver: receiver, assembler: SnapshotAssembler(directory: snapshotDirectory))
            return endpoints.filter { $0.key != node }.map(\.value.receiver)
        }
        // As over TCP, the others see a connection from the host that (re)joined the network.
        for other in others { other.peerConnected(node) }
    }

    /// Disconnects a host (it crashed or stopped): messages to it are lost.
    public func detach(_ node: ReplicaID) {
        _ = endpoints.withLock { $0.removeValue(forKey: node) }
    }

    public func setDropProbability(_ probability: Double) { faults.withLock { $0.dropProbability = probability } }

    /// Splits hosts into groups that cannot reach each other; hosts not named reach everyone.
    public func partition(_ groups: [[ReplicaID]]) {
        faults.withLock { faults in
            faults.partition = [:]
            for (group, members) in groups.enumerated() {
                for member in members { faults.partition[member] = group }
            }
        }
    }

    public func heal() { faults.withLock { $0.partition = [:] } }

    /// Corrupts the next `count` snapshot chunks in flight.
    public func corruptSnapshotChunks(_ count: Int) { faults.withLock { $0.corruptSnapshotChunks = count } }

    public var chunksCorrupted: Int { faults.withLock { $0.chunksCorrupted } }

    func reachable(_ from: ReplicaID, _ to: ReplicaID, _ faults: inout Faults) -> Bool {
        if let fromGroup = faults.partition[from], let toGroup = faults.partition[to], fromGroup != toGroup { return false }
        if faults.dropProbability > 0 {
            let draw = Double(faults.random.next() >> 11) / Double(1 << 53)
            if draw < faults.dropProbability {
                faults.messagesDropped += 1
                return false
            }
        }
        return true
    }

    func deliver(from: ReplicaID, _ messages: [ShardMessage]) {
        var byDestination: [ReplicaID: [ShardMessage]] = [:]
        faults.withLock { faults in
            for message in messages where reachable(from, message.message.to, &faults) {
                byDestination[message.message.to, default: []].append(message)
            }
        }
        for (destination, batch) in byDestination {
            guard let endpoint = endpoints.withLock({ $0[destination] }) else { continue }
            endpoint.receiver.receive(batch)
        }
    }

    func transferSnapshot(from: ReplicaID, _ message: ShardMessage, file: String) -> Bool {
        let destination = message.message.to
        guard faults.withLock({ reachable(from, destination, &$0) }),
              let endpoint = endpoints.withLock({ $0[destination] }) else { return false }
        let transferID = transferIDs.add(1, ordering: .relaxed).newValue
        guard let chunks = try? SnapshotAssembler.chunks(of: file, message: message, transferID: transferID,
                                                         chunkBytes: snapshotChunkBytes) else { return false }
        for var chunk in chunks {
            let corrupt = faults.withLock { faults -> Bool in
                guard faults.corruptSnapshotChunks > 0, !chunk.data.isEmpty else { return false }
                faults.corruptSnapshotChunks -= 1
                faults.chunksCorrupted += 1
                return true
            }
            if corrupt { chunk.data[chunk.data.count / 2] ^= 0xFF }
            switch endpoint.assembler.receive(chunk) {
            case .accepted:
                continue
            case .rejected:
                return false
            case .complete(let message, let assembled):
                return endpoint.receiver.receiveSnapshot(ShardMessage(shard: chunk.shard, message: message), file: assembled)
            }
        }
        return false
    }
}

/// One host's side of a `MemoryNetwork`.
public final class MemoryTransport: HostTransport {
    let network: MemoryNetwork
    let node: ReplicaID

    init(network: MemoryNetwork, node: ReplicaID) {
        self.network = network
        self.node = node
    }

    public func send(_ messages: [ShardMessage]) { network.deliver(from: node, messages) }

    public func sendSnapshot(_ message: ShardMessage, file: String, completion: @escaping @Sendable (Bool) -> Void) {
        let network = self.network
        let node = self.node
        DispatchQueue.global().async {
            completion(network.transferSnapshot(from: node, message, file: file))
        }
    }

    public func updateAddresses(_ addresses: [ReplicaID: String]) {}
}
