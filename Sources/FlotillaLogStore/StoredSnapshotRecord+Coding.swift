import FlotillaRaft

extension StoredSnapshotRecord {
    func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.appendBigEndian(index.rawValue)
        bytes.appendBigEndian(term.rawValue)
        bytes.appendLengthPrefixed(membership)
        if let fileName {
            bytes.append(1)
            bytes.appendLengthPrefixed(Array(fileName.utf8))
        } else {
            bytes.append(0)
        }
        return bytes
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = ByteReader(bytes)
        let index = LogIndex(try reader.readUInt64())
        let term = Term(try reader.readUInt64())
        let membership = try reader.readLengthPrefixed()
        var fileName: String?
        if try reader.readUInt8() == 1 {
            fileName = String(decoding: try reader.readLengthPrefixed(), as: UTF8.self)
        }
        self.init(index: index, term: term, membership: membership, fileName: fileName)
    }
}
