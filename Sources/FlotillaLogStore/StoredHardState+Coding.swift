import FlotillaRaft

extension StoredHardState {
    func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(24)
        bytes.appendBigEndian(term.rawValue)
        bytes.appendBigEndian(vote.rawValue)
        bytes.appendBigEndian(commit.rawValue)
        return bytes
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = ByteReader(bytes)
        self.init(term: Term(try reader.readUInt64()), vote: ReplicaID(try reader.readUInt64()),
                  commit: LogIndex(try reader.readUInt64()))
    }
}
