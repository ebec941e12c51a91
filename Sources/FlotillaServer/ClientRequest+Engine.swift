import FlotillaHost

extension ClientRequest {
    /// The write this request proposes to its key's shard, if it writes.
    public var command: KeyValueCommand? {
        switch self {
        case .put(let key, let value): return .put(key: key, value: value)
        case .delete(let key), .deleteCounting(let key): return .delete(key: key)
        case .compareAndSet(let key, let expected, let new): return .compareAndSet(key: key, expected: expected, new: new)
        case .increment(let key, let delta): return .increment(key: key, delta: delta)
        case .set(let key, let value, let condition, let expiry, let returnsPrevious):
            return .set(key: key, value: value, condition: condition, expiry: expiry, returnsPrevious: returnsPrevious)
        case .append(let key, let suffix): return .append(key: key, suffix: suffix)
        case .expire(let key, let expiry): return .expire(key: key, expiry: expiry)
        case .persist(let key): return .persist(key: key)
        default: return nil
        }
    }

    /// The linearizable read this request makes of one shard's state, if it reads one.
    public var query: KeyValueQuery? {
        switch self {
        case .get(let key): return .value(key: key)
        case .timeToLive(let key): return .timeToLive(key: key)
        case .scan(_, let position, let count): return .keys(from: position, limit: max(1, min(count, Self.scanPageMax)))
        case .keyCount: return .count
        default: return nil
        }
    }

    /// The most keys one `SCAN` page asks a shard for.
    public static let scanPageMax = 1_000
}

extension ClientResponse {
    /// What a write's result answers, by the request that asked: a line-protocol `DEL` is
    /// `OK` whether or not the key was there; Redis `DEL` counts.
    public init(_ result: KeyValueResult, answering request: ClientRequest) {
        switch result {
        case .ok: self = .ok
        case .mismatch: self = .mismatch
        case .existed(let existed):
            if case .delete = request { self = .ok } else { self = .integer(existed ? 1 : 0) }
        case .integer(let number): self = .integer(number)
        case .stored(let stored, let previous): self = .stored(stored, previous: previous)
        case .notInteger: self = .error(.badRequest, "value is not an integer or out of range")
        case .overflow: self = .error(.badRequest, "increment or decrement would overflow")
        case .tooLarge: self = .error(.tooLarge, "the value would grow over the \(KeyValueStateMachine.valueBytesMax)-byte limit")
        case .swept(let count): self = .integer(Int64(count))
        }
    }

    /// What a read answered.
    public init(_ answer: KeyValueAnswer) {
        switch answer {
        case .value(let value): self = value.map(ClientResponse.value) ?? .notFound
        case .integer(let number): self = .integer(number)
        case .keys(let keys, let next): self = .keys(keys, next: next)
        }
    }
}
