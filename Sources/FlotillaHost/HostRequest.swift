import FlotillaRaft

/// What a caller of the NodeHost waits for; resumed exactly once, by the shard's worker on its
/// thread (or, for an export, by the snapshot thread). A plain callback, not a continuation: a request on the hot path costs no
/// `Task`, and the caller decides how the answer reaches its own thread (in a batch).
struct HostContinuation: Sendable {
    let body: @Sendable (HostResponse) -> Void

    func resume(returning response: HostResponse) { body(response) }
}

enum HostResponse: Sendable {
    case applied(KeyValueResult)
    case answer(KeyValueAnswer)
    case done
    case index(LogIndex)
    case exported(LogIndex, String)
    case status(ShardStatus)
    case failure(NodeHostError)
}

/// An administrative operation carried out by a shard's leader.
enum AdminOperation: Sendable {
    case membershipChange(MembershipChange)
    case transfer(ReplicaID)
    case snapshot
    case export(directory: String)
}

/// One unit of work for a step worker.
enum WorkItem: Sendable {
    case messages([ShardMessage])
    case propose(ShardID, KeyValueCommand, HostContinuation)
    case read(ShardID, KeyValueQuery, linearizable: Bool, HostContinuation)
    case admin(ShardID, AdminOperation, HostContinuation)
    case status(ShardID, HostContinuation)
    case tick
    case snapshotReceived(ShardMessage, KeyValueStateMachine, file: String)
    case snapshotSent(ShardID, ReplicaID, succeeded: Bool)
    case addReplica(StoredReplica?, ShardID, ReplicaRecord, bootstrap: [Entry])
    /// A round's write, submitted without waiting, is durable (or failed with `failure`).
    case persisted(UInt64, failure: String?)
    /// A connection with this peer was (re)established: it may have restarted.
    case peerConnected(ReplicaID)
    case peerLost(ReplicaID)
    /// The snapshot thread wrote (or failed to write) a snapshot file.
    case snapshotWritten(ShardID, SnapshotMetadata, file: String, failure: String?)
    /// The store recorded (or failed to record) a snapshot and its compaction.
    case snapshotRecorded(ReplicaLogUpdate, failure: String?)
    case stop
}
