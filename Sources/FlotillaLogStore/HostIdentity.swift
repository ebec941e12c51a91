/// What a data dir remembers about the host that owns it, checked at every open so that a data
/// dir is never served by the wrong node or read by an incompatible build.
public struct HostIdentity: Sendable, Equatable {
    /// The host's node id, fixed at creation.
    public var nodeID: UInt64
    /// The cluster the host belongs to; zero while not known yet (a `--join` host before it
    /// receives its first shard).
    public var clusterID: UInt64
    /// The on-disk format version that wrote the data dir.
    public var formatVersion: UInt32

    public init(nodeID: UInt64, clusterID: UInt64, formatVersion: UInt32) {
        self.nodeID = nodeID
        self.clusterID = clusterID
        self.formatVersion = formatVersion
    }
}
