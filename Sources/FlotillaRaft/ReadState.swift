/// Reads that may be served once the replica has applied through `index`: the leader confirmed
/// it was still leader after these reads arrived, with `index` as its commit index then.
public struct ReadState: Sendable, Equatable {
    public var index: LogIndex
    public var requests: [ReadRequestID]
    public init(index: LogIndex, requests: [ReadRequestID]) {
        self.index = index
        self.requests = requests
    }
}
