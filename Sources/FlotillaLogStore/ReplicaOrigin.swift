/// How a replica came to exist on this host. A replica created by `--join` or by restore must
/// not bootstrap itself again on restart, so the origin is persisted with the replica.
public enum ReplicaOrigin: UInt8, Sendable, Equatable, CaseIterable {
    case bootstrap = 1
    case join = 2
    case restore = 3
}
