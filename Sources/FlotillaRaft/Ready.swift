/// Everything the core asks of its caller after a round of inputs. The caller must, in order:
/// 1. send `messages` (they may leave before anything is durable: a leader's appends go out
///    while its own write is in progress, thesis 10.2.1);
/// 2. durably persist `snapshot` (with its data), then `entries` (overwriting any stored suffix
///    from the first entry's index), then `hardState`;
/// 3. only then send `messagesAfterPersist` (votes and acknowledgements, which promise durable
///    state);
/// 4. apply `committedEntries` in order (after loading `snapshot`'s data if present), serve
///    `readStates` once applied through their index, fail `failedReads`;
/// 5. call `advance(_:)` with this value.
public struct Ready: Sendable {
    public var hardState: HardState?
    public var snapshot: SnapshotMetadata?
    public var entries: [Entry] = []
    public var messages: [Message] = []
    public var messagesAfterPersist: [Message] = []
    public var committedEntries: [Entry] = []
    public var readStates: [ReadState] = []
    /// Reads this replica can no longer confirm (it lost leadership or has no leader): the
    /// caller answers them with a retryable error.
    public var failedReads: [ReadRequestID] = []
    /// Set when role or known leader changed since the previous `Ready`.
    public var roleChange: RoleChange?

    public struct RoleChange: Sendable, Equatable {
        public var role: RaftRole
        public var leader: ReplicaID
        public var term: Term
    }

    public var isEmpty: Bool {
        hardState == nil && snapshot == nil && entries.isEmpty && messages.isEmpty
            && messagesAfterPersist.isEmpty && committedEntries.isEmpty && readStates.isEmpty
            && failedReads.isEmpty && roleChange == nil
    }

    /// Whether the caller must write anything durably before acting on the rest.
    public var needsPersistence: Bool { hardState != nil || snapshot != nil || !entries.isEmpty }
}
