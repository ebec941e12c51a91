/// One single-server membership change. Flotilla changes membership one replica at a time (Raft
/// thesis, section 4.1), and only one change may be pending at once.
public struct MembershipChange: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: UInt8, Sendable, Equatable, CustomStringConvertible {
        case addObserver = 1
        case promoteObserver = 2
        case addVoter = 3
        case remove = 4

        public var description: String {
            switch self {
            case .addObserver: return "add-observer"
            case .promoteObserver: return "promote"
            case .addVoter: return "add-voter"
            case .remove: return "remove"
            }
        }
    }

    public var kind: Kind
    public var replica: ReplicaID
    /// How the hosts reach the replica; opaque to the core, carried so that every replica (and
    /// every snapshot) knows the addresses of the shard's members.
    public var address: String

    public init(kind: Kind, replica: ReplicaID, address: String = "") {
        self.kind = kind
        self.replica = replica
        self.address = address
    }

    public var description: String { "\(kind) \(replica)" }
}
