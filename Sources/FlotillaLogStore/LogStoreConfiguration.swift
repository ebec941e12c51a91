/// How a store is opened. Every limit has a default fit for one host with tens of thousands of
/// shards; tests shrink them to reach the edges quickly.
public struct LogStoreConfiguration: Sendable {
    /// The node id of the host; a data dir created with one node id refuses any other.
    public var nodeID: UInt64
    /// The cluster identity, when known: stored in a new data dir, checked against an old one.
    public var clusterID: UInt64?
    /// The LMDB map size a new environment starts with. The map grows by doubling when full.
    public var mapSizeBytesInitial: Int = 256 << 20
    /// The map never grows past this: writes are refused with `LogStoreError.mapFull` instead.
    public var mapSizeBytesMax: Int = 64 << 30
    /// Concurrent read transactions LMDB makes room for (one slot each, since reads may come
    /// from any thread).
    public var readersMax: Int = 1024
    /// Batches waiting for the writer before `write` throws `LogStoreError.busy`.
    public var writeQueueRequestsMax: Int = 4096
    /// Bytes waiting for the writer before `write` throws `LogStoreError.busy`.
    public var writeQueueBytesMax: Int = 1 << 30
    /// The largest single batch accepted.
    public var batchBytesMax: Int = 512 << 20
    /// The writer stops adding queued batches to one transaction past this many bytes, so that a
    /// burst does not make one huge transaction that keeps every caller waiting.
    public var transactionBytesTarget: Int = 64 << 20
    /// The writer stops adding queued batches to one transaction past this many batches.
    public var transactionRequestsMax: Int = 1024

    /// The format version written into a new data dir. Internal so that tests can fake an
    /// older build; everyone else writes `LogStore.formatVersion`.
    var formatVersion: UInt32 = LogStore.formatVersion

    public init(nodeID: UInt64, clusterID: UInt64? = nil) {
        self.nodeID = nodeID
        self.clusterID = clusterID
    }
}
