import FlotillaRaft

/// One piece of a snapshot in transfer. Chunks are bounded (`chunkBytesMax`), each carries its
/// own checksum, and they must arrive in sequence; the first carries the `installSnapshot`
/// message the receiver hands to its replica once the whole file is in and valid.
public struct SnapshotChunk: Sendable, Equatable {
    public static let chunkBytesMax = 1 << 20

    public var shard: ShardID
    public var from: ReplicaID
    public var to: ReplicaID
    public var transferID: UInt64
    public var sequence: UInt32
    public var isLast: Bool
    public var message: Message?
    public var data: [UInt8]
    public var checksum: UInt32

    public init(shard: ShardID, from: ReplicaID, to: ReplicaID, transferID: UInt64, sequence: UInt32,
                isLast: Bool, message: Message?, data: [UInt8]) {
        self.shard = shard
        self.from = from
        self.to = to
        self.transferID = transferID
        self.sequence = sequence
        self.isLast = isLast
        self.message = message
        self.data = data
        self.checksum = CRC32C.checksum(data)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: data.count + 128)
        writer.write(shard.rawValue)
        writer.write(from.rawValue)
        writer.write(to.rawValue)
        writer.write(transferID)
        writer.write(sequence)
        writer.write(isLast)
        if let message {
            writer.write(true)
            RaftWireFormat.encode(message, into: &writer)
        } else {
            writer.write(false)
        }
        writer.writeBlob(data)
        writer.write(checksum)
        return writer.bytes
    }

    public init(decoding reader: inout ByteReader) throws(DecodingError) {
        shard = ShardID(try reader.readUInt64())
        from = ReplicaID(try reader.readUInt64())
        to = ReplicaID(try reader.readUInt64())
        transferID = try reader.readUInt64()
        sequence = try reader.readUInt32()
        isLast = try reader.readBool()
        message = try reader.readBool() ? try RaftWireFormat.decodeMessage(from: &reader) : nil
        data = try reader.readBlob(limit: Self.chunkBytesMax)
        checksum = try reader.readUInt32()
    }
}
