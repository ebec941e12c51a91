import FlotillaRaft

/// A Raft message of one shard, addressed host to host (a replica's id is its host's node id).
public struct ShardMessage: Sendable, Equatable {
    public var shard: ShardID
    public var message: Message
    public init(shard: ShardID, message: Message) {
        self.shard = shard
        self.message = message
    }
}

/// How a NodeHost reaches its peers. Sending never blocks a step worker: a transport queues
/// with a limit and drops when full (Raft retries), so a slow or dead peer cannot stall others.
public protocol HostTransport: AnyObject, Sendable {
    /// Queues messages for the hosts named by `message.to`.
    func send(_ messages: [ShardMessage])
    /// Streams a snapshot file to `message.message.to` in bounded chunks, then delivers the
    /// `installSnapshot` message with it; `completion` reports whether the peer accepted it.
    func sendSnapshot(_ message: ShardMessage, file: String, completion: @escaping @Sendable (Bool) -> Void)
    /// The addresses of the hosts this host may need to reach, from the shards' memberships.
    func updateAddresses(_ addresses: [ReplicaID: String])
}

/// What a transport delivers to.
public protocol HostMessageReceiver: AnyObject, Sendable {
    func receive(_ messages: [ShardMessage])
    /// A snapshot transfer completed into `file` (on this host's disk). Returns whether the
    /// snapshot was valid and handed to the replica; the file is consumed either way.
    func receiveSnapshot(_ message: ShardMessage, file: String) -> Bool
    /// A connection with `peer` was (re)established: the peer may have restarted.
    func peerConnected(_ peer: ReplicaID)
    /// An established connection with `peer` was lost: the peer may have died.
    func peerLost(_ peer: ReplicaID)
}

extension HostMessageReceiver {
    public func peerConnected(_ peer: ReplicaID) {}
    public func peerLost(_ peer: ReplicaID) {}
}
