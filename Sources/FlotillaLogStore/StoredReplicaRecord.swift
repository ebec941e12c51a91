/// A replica's own record: its role and origin in typed form, plus opaque bytes the engine may
/// use for anything else it must remember about the replica (for example peer addresses).
public struct StoredReplicaRecord: Sendable, Equatable {
    public var role: ReplicaRole
    public var origin: ReplicaOrigin
    public var payload: [UInt8]

    public init(role: ReplicaRole, origin: ReplicaOrigin, payload: [UInt8] = []) {
        self.role = role
        self.origin = origin
        self.payload = payload
    }
}
