/// A read of a shard's key-value state, served by ReadIndex (linearizable) or from the local
/// replica as applied (stale).
public enum KeyValueQuery: Equatable, Sendable {
    /// The key's value (`GET`).
    case value(key: [UInt8])
    /// Redis `PTTL`: -2 absent, -1 no expiry, else milliseconds left.
    case timeToLive(key: [UInt8])
    /// A page of about `limit` keys from `position` on, in `ScanOrder` (`SCAN`).
    case keys(from: UInt64, limit: Int)
    /// How many keys the shard holds, counting expired ones not yet swept (as Redis `DBSIZE`).
    case count
}

/// What a `KeyValueQuery` answered.
public enum KeyValueAnswer: Equatable, Sendable {
    case value([UInt8]?)
    case integer(Int64)
    /// A page of keys, and where the next page starts (nil: the shard has no more).
    case keys([[UInt8]], next: UInt64?)
}

extension KeyValueStateMachine {
    /// Answers `query` with expiry judged at `nowMilliseconds`, the reading host's wall clock.
    public func answer(_ query: KeyValueQuery, at nowMilliseconds: UInt64) -> KeyValueAnswer {
        switch query {
        case .value(let key): return .value(value(for: key, at: nowMilliseconds))
        case .timeToLive(let key): return .integer(timeToLive(of: key, at: nowMilliseconds))
        case .keys(let position, let limit):
            let page = keys(from: position, limit: limit, at: nowMilliseconds)
            return .keys(page.keys, next: page.next)
        case .count: return .integer(Int64(count))
        }
    }
}
