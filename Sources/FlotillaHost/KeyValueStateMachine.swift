/// A shard's key-value state: deterministic, so every replica applying the same entries holds
/// the same data. Kept in memory and rebuilt at start from the latest snapshot and the log.
public struct KeyValueStateMachine: Sendable {
    public private(set) var values: [[UInt8]: [UInt8]] = [:]
    /// Bytes held in keys and values, for status and snapshot sizing.
    public private(set) var dataBytes = 0

    public init() {}

    public init(values: [[UInt8]: [UInt8]]) {
        self.values = values
        dataBytes = values.reduce(0) { $0 + $1.key.count + $1.value.count }
    }

    public func value(for key: [UInt8]) -> [UInt8]? { values[key] }

    public var count: Int { values.count }

    @discardableResult
    public mutating func apply(_ command: KeyValueCommand) -> KeyValueResult {
        switch command {
        case .put(let key, let value):
            set(key, value)
            return .ok
        case .delete(let key):
            if let old = values.removeValue(forKey: key) { dataBytes -= key.count + old.count }
            return .ok
        case .compareAndSet(let key, let expected, let new):
            guard let current = values[key], current == expected else { return .mismatch }
            set(key, new)
            return .ok
        }
    }

    mutating func set(_ key: [UInt8], _ value: [UInt8]) {
        if let old = values.updateValue(value, forKey: key) {
            dataBytes += value.count - old.count
        } else {
            dataBytes += key.count + value.count
        }
    }
}
