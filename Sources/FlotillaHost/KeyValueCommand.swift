/// A write to a shard's key-value state machine, as carried in a log entry.
public enum KeyValueCommand: Equatable, Sendable {
    case put(key: [UInt8], value: [UInt8])
    case delete(key: [UInt8])
    /// Sets `new` only when the current value equals `expected`; absent never matches.
    case compareAndSet(key: [UInt8], expected: [UInt8], new: [UInt8])

    public var key: [UInt8] {
        switch self {
        case .put(let key, _), .delete(let key), .compareAndSet(let key, _, _): return key
        }
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + key.count)
        switch self {
        case .put(let key, let value):
            writer.write(UInt8(1))
            writer.writeBlob(key)
            writer.writeBlob(value)
        case .delete(let key):
            writer.write(UInt8(2))
            writer.writeBlob(key)
        case .compareAndSet(let key, let expected, let new):
            writer.write(UInt8(3))
            writer.writeBlob(key)
            writer.writeBlob(expected)
            writer.writeBlob(new)
        }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(DecodingError) {
        var reader = ByteReader(bytes)
        switch try reader.readByte() {
        case 1: self = .put(key: try reader.readBlob(), value: try reader.readBlob())
        case 2: self = .delete(key: try reader.readBlob())
        case 3: self = .compareAndSet(key: try reader.readBlob(), expected: try reader.readBlob(), new: try reader.readBlob())
        case let tag: throw .invalid("command tag \(tag)")
        }
    }
}

/// What applying a command answered.
public enum KeyValueResult: Equatable, Sendable {
    case ok
    case mismatch
}
