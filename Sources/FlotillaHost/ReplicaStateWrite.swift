/// What a replica's durable key-value state takes from one write, in the same transaction as
/// the replica's log update: so a round still costs one sync, and a restart resumes at
/// `applied` instead of replaying the log from the latest snapshot.
///
/// Either `changes` on top of the stored state, or a step of `replacement` (see
/// `StateReplacementStep`). Never both.
public struct ReplicaStateWrite: Sendable, Equatable {
    public var changes: [KeyChange]
    public var replacement: StateReplacementStep?
    /// The last entry the state reflects once this write is made; nil for the steps of a
    /// replacement before its `finish` (the stored state is still the old one).
    public var applied: AppliedPosition?

    public init(changes: [KeyChange] = [], replacement: StateReplacementStep? = nil, applied: AppliedPosition?) {
        self.changes = changes
        self.replacement = replacement
        self.applied = applied
    }

    var sizeBytes: Int {
        changes.reduce(0) { $0 + $1.sizeBytes } + (replacement?.sizeBytes ?? 0)
    }
}
