/// Big-endian encoding helpers for keys and values.
extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    mutating func appendBigEndian(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    /// A length-prefixed byte string.
    mutating func appendLengthPrefixed(_ bytes: [UInt8]) {
        appendBigEndian(UInt32(bytes.count))
        append(contentsOf: bytes)
    }
}

extension UnsafeRawBufferPointer {
    func loadBigEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    func loadBigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}

/// Reads what `Array.append*` wrote, refusing to read past the end (a corrupt value must become
/// an error, not a crash).
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func readUInt64() throws -> UInt64 {
        guard offset + 8 <= bytes.count else { throw LogStoreError.corrupt("value too short") }
        defer { offset += 8 }
        return bytes.loadBigEndianUInt64(at: offset)
    }

    mutating func readUInt32() throws -> UInt32 {
        guard offset + 4 <= bytes.count else { throw LogStoreError.corrupt("value too short") }
        defer { offset += 4 }
        return bytes.loadBigEndianUInt32(at: offset)
    }

    mutating func readUInt8() throws -> UInt8 {
        guard offset < bytes.count else { throw LogStoreError.corrupt("value too short") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readLengthPrefixed() throws -> [UInt8] {
        let count = Int(try readUInt32())
        guard offset + count <= bytes.count else { throw LogStoreError.corrupt("value too short") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }
}
