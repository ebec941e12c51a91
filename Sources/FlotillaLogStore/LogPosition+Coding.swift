import FlotillaRaft

extension LogPosition {
    func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.appendBigEndian(index.rawValue)
        bytes.appendBigEndian(term.rawValue)
        return bytes
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = ByteReader(bytes)
        self.init(index: LogIndex(try reader.readUInt64()), term: Term(try reader.readUInt64()))
    }
}
