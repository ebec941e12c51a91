/// Who belongs to a shard: voters (who elect leaders and form quorums), observers (who receive
/// the log but never vote or count), and every replica id ever removed, which is never admitted
/// again.
///
/// Iteration order matters for determinism (the simulator replays a seed exactly), so every
/// accessor that lists members returns them sorted.
public struct Membership: Sendable, Equatable {
    public private(set) var voterAddresses: [ReplicaID: String]
    public private(set) var observerAddresses: [ReplicaID: String]
    public private(set) var removed: Set<ReplicaID>
    /// The index of the log entry that produced this membership: an epoch that only moves
    /// forward, so an older configuration can never look newer than a later one.
    public private(set) var configurationIndex: LogIndex

    public init(
        voters: [ReplicaID: String] = [:],
        observers: [ReplicaID: String] = [:],
        removed: Set<ReplicaID> = [],
        configurationIndex: LogIndex = .zero
    ) {
        self.voterAddresses = voters
        self.observerAddresses = observers
        self.removed = removed
        self.configurationIndex = configurationIndex
    }

    /// The log a shard starts from: one membership change per initial member, at indexes
    /// `1...n` in term 1, committed. Every initial member writes the same entries at its first
    /// boot (as etcd does), so the configuration lives in the log itself: a replica that joins
    /// later and receives the log from index 1 learns the initial members from it.
    public func bootstrapEntries() -> [Entry] {
        var changes: [MembershipChange] = voters.map { MembershipChange(kind: .addVoter, replica: $0, address: voterAddresses[$0]!) }
        changes += observers.map { MembershipChange(kind: .addObserver, replica: $0, address: observerAddresses[$0]!) }
        return changes.enumerated().map { position, change in
            Entry(index: LogIndex(UInt64(position + 1)), term: Term(1), payload: .membershipChange(change))
        }
    }

    /// A membership of voters only, with empty addresses: convenient for tests.
    public init(voters: [ReplicaID]) {
        self.init(voters: Dictionary(uniqueKeysWithValues: voters.map { ($0, "") }))
    }

    public var voters: [ReplicaID] { voterAddresses.keys.sorted() }
    public var observers: [ReplicaID] { observerAddresses.keys.sorted() }
    public var members: [ReplicaID] { (Array(voterAddresses.keys) + Array(observerAddresses.keys)).sorted() }
    public var removedSorted: [ReplicaID] { removed.sorted() }

    public func isVoter(_ replica: ReplicaID) -> Bool { voterAddresses[replica] != nil }
    public func isObserver(_ replica: ReplicaID) -> Bool { observerAddresses[replica] != nil }
    public func isMember(_ replica: ReplicaID) -> Bool { isVoter(replica) || isObserver(replica) }
    public func address(of replica: ReplicaID) -> String? { voterAddresses[replica] ?? observerAddresses[replica] }

    /// The number of voters whose agreement makes a decision.
    public var quorum: Int { voterAddresses.count / 2 + 1 }

    /// Why `change` cannot be applied to this membership, or nil when it can.
    public func rejection(of change: MembershipChange) -> String? {
        let replica = change.replica
        if replica == .none { return "replica id 0 is reserved" }
        switch change.kind {
        case .addObserver, .addVoter:
            if removed.contains(replica) { return "replica \(replica) was removed and is never admitted again" }
            if isMember(replica) { return "replica \(replica) is already a member" }
        case .promoteObserver:
            if !isObserver(replica) { return "replica \(replica) is not an observer" }
        case .remove:
            if !isMember(replica) { return "replica \(replica) is not a member" }
            if isVoter(replica) && voterAddresses.count == 1 { return "cannot remove the last voter" }
        }
        return nil
    }

    /// Applies a change produced by the entry at `index`. A change that is invalid against this
    /// membership (possible only if a leader admitted it against a different configuration) is
    /// ignored, identically on every replica, so that all replicas stay in agreement.
    public mutating func apply(_ change: MembershipChange, at index: LogIndex) {
        if index > configurationIndex { configurationIndex = index }
        guard rejection(of: change) == nil else { return }
        let replica = change.replica
        switch change.kind {
        case .addObserver:
            observerAddresses[replica] = change.address
        case .addVoter:
            voterAddresses[replica] = change.address
        case .promoteObserver:
            let previousAddress = observerAddresses.removeValue(forKey: replica) ?? ""
            voterAddresses[replica] = change.address.isEmpty ? previousAddress : change.address
        case .remove:
            voterAddresses[replica] = nil
            observerAddresses[replica] = nil
            removed.insert(replica)
        }
    }

    /// Records a new address for a member (a host whose data moved to another machine).
    public mutating func setAddress(_ address: String, for replica: ReplicaID) {
        if voterAddresses[replica] != nil { voterAddresses[replica] = address }
        if observerAddresses[replica] != nil { observerAddresses[replica] = address }
    }
}

extension Membership: CustomStringConvertible {
    public var description: String {
        let voterList = voters.map(\.description).joined(separator: ",")
        let observerList = observers.map(\.description).joined(separator: ",")
        var text = "voters=(\(voterList))"
        if !observerList.isEmpty { text += " observers=(\(observerList))" }
        if !removed.isEmpty { text += " removed=(\(removedSorted.map(\.description).joined(separator: ",")))" }
        return text
    }
}
