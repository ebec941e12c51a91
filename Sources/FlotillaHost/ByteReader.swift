/// Reads what `ByteWriter` wrote, refusing (never trapping on) truncated or malformed input.
public struct ByteReader {
    public let bytes: [UInt8]
    public private(set) var position: Int

    public init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var remaining: Int { bytes.count - position }
    public var isAtEnd: Bool { position >= bytes.count }

    public mutating func readByte() throws(DecodingError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func readUInt32() throws(DecodingError) -> UInt32 {
        guard remaining >= 4 else { throw .truncated }
        var value: UInt32 = 0
        for offset in 0..<4 { value |= UInt32(bytes[position + offset]) << (8 * offset) }
        position += 4
        return value
    }

    public mutating func readUInt64() throws(DecodingError) -> UInt64 {
        guard remaining >= 8 else { throw .truncated }
        var value: UInt64 = 0
        for offset in 0..<8 { value |= UInt64(bytes[position + offset]) << (8 * offset) }
        position += 8
        return value
    }

    public mutating func readBool() throws(DecodingError) -> Bool {
        switch try readByte() {
        case 0: return false
        case 1: return true
        case let other: throw .invalid("boolean byte \(other)")
        }
    }

    public mutating func readBlob(limit: Int = Int(UInt32.max)) throws(DecodingError) -> [UInt8] {
        let count = Int(try readUInt32())
        guard count <= limit else { throw .invalid("length \(count) over limit \(limit)") }
        guard remaining >= count else { throw .truncated }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    public mutating func readString(limit: Int = 1 << 16) throws(DecodingError) -> String {
        let blob = try readBlob(limit: limit)
        return String(decoding: blob, as: UTF8.self)
    }

    public mutating func readRaw(count: Int) throws(DecodingError) -> [UInt8] {
        guard remaining >= count else { throw .truncated }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }
}

/// Why bytes could not be decoded.
public enum DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated
    case invalid(String)

    public var description: String {
        switch self {
        case .truncated: return "truncated input"
        case .invalid(let detail): return "invalid input: \(detail)"
        }
    }
}
