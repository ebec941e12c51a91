/// A value of a replica's key-value state as stored: the bytes and, when the key expires, the
/// wall-clock time (Unix milliseconds) it expires at.
public struct StateValue: Sendable, Equatable {
    public var bytes: [UInt8]
    public var expiryMilliseconds: UInt64?

    public init(bytes: [UInt8], expiryMilliseconds: UInt64? = nil) {
        self.bytes = bytes
        self.expiryMilliseconds = expiryMilliseconds
    }

    /// `flags(1)`, then `expiry(8)` when flag bit 0 is set, then the bytes.
    func encoded() -> [UInt8] {
        var encoded = [UInt8]()
        encoded.reserveCapacity(bytes.count + 9)
        if let expiryMilliseconds {
            encoded.append(1)
            encoded.appendBigEndian(expiryMilliseconds)
        } else {
            encoded.append(0)
        }
        encoded.append(contentsOf: bytes)
        return encoded
    }

    static func decode(_ raw: UnsafeRawBufferPointer) throws -> StateValue {
        guard let flags = raw.first else { throw LogStoreError.corrupt("empty state value") }
        guard flags & ~1 == 0 else { throw LogStoreError.corrupt("state value with unknown flags \(flags)") }
        if flags & 1 == 0 { return StateValue(bytes: Array(raw[1...])) }
        guard raw.count >= 9 else { throw LogStoreError.corrupt("state value too short for its expiry") }
        return StateValue(bytes: Array(raw[9...]), expiryMilliseconds: raw.loadBigEndianUInt64(at: 1))
    }
}
