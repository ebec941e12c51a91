/// One change to a replica's durable key-value state: a key's latest value, or its deletion.
public enum KeyChange: Sendable, Equatable {
    case put(StoredKeyValue)
    case delete([UInt8])

    var sizeBytes: Int {
        switch self {
        case .put(let row): return row.sizeBytes
        case .delete(let key): return key.count + 16
        }
    }
}
