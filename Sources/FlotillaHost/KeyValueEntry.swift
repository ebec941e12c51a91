/// A `KeyValueCommand` as a log entry carries it: with the wall-clock time (milliseconds since
/// 1970) at which the leader proposed it, against which apply decides every expiry.
///
///     0x80 | time u64 | operation tag u8 | fields
///
/// Entries written before expiry existed start with the operation tag (1 put, 2 delete, 3
/// compare-and-set) and decode with time 0, at which nothing has expired.
public struct KeyValueEntry: Equatable, Sendable {
    public var timeMilliseconds: UInt64
    public var command: KeyValueCommand

    static let timedFormat: UInt8 = 0x80
    /// Limits a decoder holds a peer's (or a corrupt log's) claims to.
    static let keyBytesMax = 1 << 16
    static let valueBytesMax = 1 << 24
    static let sweepKeysMax = 1 << 16

    public init(timeMilliseconds: UInt64, command: KeyValueCommand) {
        self.timeMilliseconds = timeMilliseconds
        self.command = command
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 24 + command.key.count)
        writer.write(Self.timedFormat)
        writer.write(timeMilliseconds)
        switch command {
        case .put(let key, let value):
            writer.write(UInt8(1)); writer.writeBlob(key); writer.writeBlob(value)
        case .delete(let key):
            writer.write(UInt8(2)); writer.writeBlob(key)
        case .compareAndSet(let key, let expected, let new):
            writer.write(UInt8(3)); writer.writeBlob(key); writer.writeBlob(expected); writer.writeBlob(new)
        case .set(let key, let value, let condition, let expiry, let returnsPrevious):
            writer.write(UInt8(4)); writer.writeBlob(key); writer.writeBlob(value)
            writer.write(condition.rawValue); Self.encode(expiry, into: &writer); writer.write(returnsPrevious)
        case .increment(let key, let delta):
            writer.write(UInt8(5)); writer.writeBlob(key); writer.write(UInt64(bitPattern: delta))
        case .append(let key, let suffix):
            writer.write(UInt8(6)); writer.writeBlob(key); writer.writeBlob(suffix)
        case .expire(let key, let expiry):
            writer.write(UInt8(7)); writer.writeBlob(key); Self.encode(expiry, into: &writer)
        case .persist(let key):
            writer.write(UInt8(8)); writer.writeBlob(key)
        case .sweep(let keys):
            writer.write(UInt8(9)); writer.write(UInt32(keys.count))
            for key in keys { writer.writeBlob(key) }
        }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(DecodingError) {
        var reader = ByteReader(bytes)
        var tag = try reader.readByte()
        var time: UInt64 = 0
        if tag == Self.timedFormat {
            time = try reader.readUInt64()
            tag = try reader.readByte()
        }
        let command: KeyValueCommand
        switch tag {
        case 1: command = .put(key: try Self.readKey(&reader), value: try Self.readValue(&reader))
        case 2: command = .delete(key: try Self.readKey(&reader))
        case 3: command = .compareAndSet(key: try Self.readKey(&reader), expected: try Self.readValue(&reader), new: try Self.readValue(&reader))
        case 4:
            let key = try Self.readKey(&reader)
            let value = try Self.readValue(&reader)
            guard let condition = SetCondition(rawValue: try reader.readByte()) else { throw .invalid("set condition") }
            command = .set(key: key, value: value, condition: condition, expiry: try Self.decodeExpiry(&reader),
                           returnsPrevious: try reader.readBool())
        case 5: command = .increment(key: try Self.readKey(&reader), delta: Int64(bitPattern: try reader.readUInt64()))
        case 6: command = .append(key: try Self.readKey(&reader), suffix: try Self.readValue(&reader))
        case 7: command = .expire(key: try Self.readKey(&reader), expiry: try Self.decodeExpiry(&reader))
        case 8: command = .persist(key: try Self.readKey(&reader))
        case 9:
            let count = Int(try reader.readUInt32())
            guard count <= Self.sweepKeysMax else { throw .invalid("sweep of \(count) keys") }
            var keys: [[UInt8]] = []
            keys.reserveCapacity(min(count, reader.remaining / 4))
            for _ in 0..<count { keys.append(try Self.readKey(&reader)) }
            command = .sweep(keys: keys)
        default: throw .invalid("command tag \(tag)")
        }
        guard reader.isAtEnd else { throw .invalid("\(reader.remaining) trailing bytes after a command") }
        self.init(timeMilliseconds: time, command: command)
    }

    static func readKey(_ reader: inout ByteReader) throws(DecodingError) -> [UInt8] {
        try reader.readBlob(limit: keyBytesMax)
    }

    static func readValue(_ reader: inout ByteReader) throws(DecodingError) -> [UInt8] {
        try reader.readBlob(limit: valueBytesMax)
    }

    public static func encode(_ expiry: ExpiryChange, into writer: inout ByteWriter) {
        switch expiry {
        case .clear: writer.write(UInt8(0))
        case .keep: writer.write(UInt8(1))
        case .after(let milliseconds): writer.write(UInt8(2)); writer.write(UInt64(bitPattern: milliseconds))
        case .at(let unixMilliseconds): writer.write(UInt8(3)); writer.write(unixMilliseconds)
        }
    }

    public static func decodeExpiry(_ reader: inout ByteReader) throws(DecodingError) -> ExpiryChange {
        switch try reader.readByte() {
        case 0: return .clear
        case 1: return .keep
        case 2: return .after(milliseconds: Int64(bitPattern: try reader.readUInt64()))
        case 3: return .at(unixMilliseconds: try reader.readUInt64())
        case let tag: throw .invalid("expiry tag \(tag)")
        }
    }
}
