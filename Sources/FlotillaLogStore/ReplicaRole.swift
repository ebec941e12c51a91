/// Whether a replica votes. Kept in the replica record so that a host restarted in the middle
/// of an add-observer-then-promote sequence comes back in the right role.
public enum ReplicaRole: UInt8, Sendable, Equatable, CaseIterable {
    case voter = 1
    case observer = 2
}
