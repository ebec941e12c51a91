/// A write to a shard's key-value state machine. It reaches the log inside a `KeyValueEntry`,
/// which adds the proposing leader's clock: every decision about expiry is made against that
/// time, never against a replica's own clock, so every replica applying the entry agrees.
public enum KeyValueCommand: Equatable, Sendable {
    /// Sets the value and clears any expiry (as Redis `SET` does).
    case put(key: [UInt8], value: [UInt8])
    case delete(key: [UInt8])
    /// Sets `new` only when the current value equals `expected`; absent never matches. Clears
    /// any expiry, like `put`.
    case compareAndSet(key: [UInt8], expected: [UInt8], new: [UInt8])
    /// Redis `SET` with its options: a condition on the key's presence, what becomes of its
    /// expiry, and whether the previous value is answered.
    case set(key: [UInt8], value: [UInt8], condition: SetCondition, expiry: ExpiryChange, returnsPrevious: Bool)
    /// Adds `delta` to the key's decimal integer value (absent counts as 0); keeps the expiry.
    case increment(key: [UInt8], delta: Int64)
    /// Appends to the value (absent counts as empty); keeps the expiry.
    case append(key: [UInt8], suffix: [UInt8])
    /// Gives a present key an expiry (`.after` or `.at`); one already due deletes the key.
    case expire(key: [UInt8], expiry: ExpiryChange)
    /// Removes a present key's expiry.
    case persist(key: [UInt8])
    /// Deletes each of these keys whose expiry is due at the entry's time: how a leader
    /// carries out expiry, so that every replica deletes the same keys at the same index.
    case sweep(keys: [[UInt8]])

    /// The key the command writes; a sweep has several and answers its first.
    public var key: [UInt8] {
        switch self {
        case .put(let key, _), .delete(let key), .compareAndSet(let key, _, _), .set(let key, _, _, _, _),
             .increment(let key, _), .append(let key, _), .expire(let key, _), .persist(let key):
            return key
        case .sweep(let keys):
            return keys.first ?? []
        }
    }
}

/// When `SET` applies (Redis `NX` and `XX`).
public enum SetCondition: UInt8, Equatable, Sendable {
    case always = 0
    /// Only when the key is absent (`NX`).
    case ifAbsent = 1
    /// Only when the key is present (`XX`).
    case ifPresent = 2
}

/// What a write does to a key's expiry. Relative times count from the entry's time, so the
/// absolute expiry is the same on every replica.
public enum ExpiryChange: Equatable, Sendable {
    /// No expiry any more.
    case clear
    /// The expiry the key had (Redis `KEEPTTL`).
    case keep
    /// Expires this many milliseconds after the entry's time.
    case after(milliseconds: Int64)
    /// Expires at this wall-clock time, in milliseconds since 1970.
    case at(unixMilliseconds: UInt64)
}

/// What applying a command answered.
public enum KeyValueResult: Equatable, Sendable {
    case ok
    case mismatch
    /// Whether the key was there (present and not expired): `delete`, `expire`, `persist`.
    case existed(Bool)
    /// An integer answer: the new value of `increment`, the new length of `append`.
    case integer(Int64)
    /// `set`: whether it stored the value, and the previous value when asked for.
    case stored(Bool, previous: [UInt8]?)
    /// `increment` on a value that is not a decimal 64-bit integer; nothing changed.
    case notInteger
    /// `increment` past the 64-bit range; nothing changed.
    case overflow
    /// `append` past the value limit; nothing changed.
    case tooLarge
    /// `sweep`: how many keys it deleted.
    case swept(Int)
}
