/// Appends fixed-width little-endian integers and length-prefixed byte strings: the one
/// encoding used for log payloads, messages between hosts and snapshot files.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }

    public mutating func write(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// A byte string prefixed by its length as UInt32.
    public mutating func writeBlob(_ blob: [UInt8]) {
        write(UInt32(blob.count))
        bytes.append(contentsOf: blob)
    }

    public mutating func writeBlob(_ blob: ArraySlice<UInt8>) {
        write(UInt32(blob.count))
        bytes.append(contentsOf: blob)
    }

    public mutating func writeString(_ text: String) { writeBlob(Array(text.utf8)) }

    public mutating func writeRaw(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
}
