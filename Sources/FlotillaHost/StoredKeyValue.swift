/// One key of a replica's state as the host's store keeps it: its value and, when the key
/// expires, the wall-clock time it expires at (Unix milliseconds).
public struct StoredKeyValue: Sendable, Equatable {
    public var key: [UInt8]
    public var value: [UInt8]
    public var expiryMilliseconds: UInt64?

    public init(key: [UInt8], value: [UInt8], expiryMilliseconds: UInt64? = nil) {
        self.key = key
        self.value = value
        self.expiryMilliseconds = expiryMilliseconds
    }

    var sizeBytes: Int { key.count + value.count + 16 }
}
