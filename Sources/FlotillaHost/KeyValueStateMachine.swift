import HeapModule

/// A shard's key-value state: deterministic, so every replica applying the same entries holds
/// the same data. Kept in memory, and written to the host's store as it changes (see
/// `takeChanges`), so that a restart reads it back instead of replaying the log.
///
/// Expiry: a key may carry an expiry time (wall clock, milliseconds since 1970). Applying an
/// entry judges expiry by the entry's time only, so replicas agree; a key past its expiry is
/// absent to every command and read, and is deleted for good by a `sweep` the leader
/// proposes (see `takeDueExpiries`). Reads judge expiry by the reading host's clock.
public struct KeyValueStateMachine: Sendable {
    public private(set) var values: [[UInt8]: [UInt8]] = [:]
    /// The expiry of every key that has one.
    public private(set) var expiries: [[UInt8]: UInt64] = [:]
    /// Bytes held in keys and values, for status and snapshot sizing.
    public private(set) var dataBytes = 0
    /// Keys by expiry, soonest first, for the leader's sweeps. An index, not state: entries
    /// go stale when a key's expiry changes or it is deleted, and are discarded when met.
    private var dueOrder = Heap<ExpiryMark>()
    /// The largest value `append` may build (the line protocol's value limit).
    public static let valueBytesMax = 1 << 20
    /// Keys changed since the last `takeChanges`: what the next write of the replica's durable
    /// state must carry (each key's latest value, or its deletion).
    public private(set) var changedKeys: Set<[UInt8]> = []
    /// About how many bytes the changes since the last `takeChanges` carry (every change's
    /// key and value counted, a key changed twice twice): so that a state write stays small.
    public private(set) var changedBytes = 0

    public init() {}

    public init(values: [[UInt8]: [UInt8]], expiries: [[UInt8]: UInt64] = [:]) {
        self.values = values
        self.expiries = expiries.filter { values[$0.key] != nil }
        dataBytes = values.reduce(0) { $0 + $1.key.count + $1.value.count }
        dueOrder = Heap(self.expiries.map { ExpiryMark(unixMilliseconds: $0.value, key: $0.key) })
    }

    public var count: Int { values.count }

    /// The value, unless absent or expired at `nowMilliseconds` (wall clock).
    public func value(for key: [UInt8], at nowMilliseconds: UInt64) -> [UInt8]? {
        guard let value = values[key] else { return nil }
        if let expiry = expiries[key], expiry <= nowMilliseconds { return nil }
        return value
    }

    /// The value as stored, whatever its expiry (tests, snapshots).
    public func value(for key: [UInt8]) -> [UInt8]? { values[key] }

    /// Redis `PTTL`: -2 when absent or expired, -1 when the key has no expiry, else the
    /// milliseconds left.
    public func timeToLive(of key: [UInt8], at nowMilliseconds: UInt64) -> Int64 {
        guard values[key] != nil else { return -2 }
        guard let expiry = expiries[key] else { return -1 }
        guard expiry > nowMilliseconds else { return -2 }
        return Int64(clamping: expiry - nowMilliseconds)
    }

    /// Live keys from `position` on in `ScanOrder`, at least `limit` of them when there are
    /// that many (more when keys share the last position), and the position to resume from,
    /// or nil when the shard has no more.
    ///
    /// The map is a hash table, so this is one pass over the shard's keys per page: fine for
    /// `SCAN` as an occasional tool, not for hot paths.
    public func keys(from position: UInt64, limit: Int, at nowMilliseconds: UInt64) -> (keys: [[UInt8]], next: UInt64?) {
        let limit = max(1, limit)
        // A max-heap of the `limit + 1` first keys seen so far.
        var first = Heap<OrderedKey>()
        for key in values.keys {
            let candidate = OrderedKey(bytes: key)
            guard candidate.position >= position else { continue }
            if let expiry = expiries[key], expiry <= nowMilliseconds { continue }
            if first.count <= limit {
                first.insert(candidate)
            } else if candidate < first.max! {
                first.replaceMax(with: candidate)
            }
        }
        var ordered = first.unordered.sorted()
        guard ordered.count > limit else { return (ordered.map(\.bytes), nil) }
        let following = ordered.removeLast()
        let last = ordered[ordered.count - 1].position
        if following.position == last {
            // Keys sharing the last position all go in this page: the next starts after it.
            let included = Set(ordered.map(\.bytes))
            for key in values.keys where !included.contains(key) && ScanOrder.position(of: key) == last {
                if let expiry = expiries[key], expiry <= nowMilliseconds { continue }
                ordered.append(OrderedKey(bytes: key))
            }
        }
        let next = last + 1
        return (ordered.map(\.bytes), next < ScanOrder.positionEnd ? next : nil)
    }

    /// The changes since the last call, each key's latest value or its deletion, for the write
    /// that makes them durable; the next call starts afresh.
    public mutating func takeChanges() -> [KeyChange] {
        guard !changedKeys.isEmpty else { return [] }
        var changes: [KeyChange] = []
        changes.reserveCapacity(changedKeys.count)
        for key in changedKeys {
            if let value = values[key] {
                changes.append(.put(StoredKeyValue(key: key, value: value, expiryMilliseconds: expiries[key])))
            } else {
                changes.append(.delete(key))
            }
        }
        changedKeys = []
        changedBytes = 0
        return changes
    }

    /// Forgets the changes not yet taken: the whole state is written instead (a snapshot
    /// replaced it).
    public mutating func discardChanges() {
        changedKeys = []
        changedBytes = 0
    }

    /// Every key with its value and expiry, for a write that replaces the durable state whole.
    public var storedKeyValues: [StoredKeyValue] {
        values.map { StoredKeyValue(key: $0.key, value: $0.value, expiryMilliseconds: expiries[$0.key]) }
    }

    /// The soonest expiry (possibly stale), so a leader can tell cheaply whether to sweep.
    public var nextExpiryMilliseconds: UInt64? { dueOrder.min?.unixMilliseconds }

    /// Up to `limit` keys due at `nowMilliseconds`, taken out of the due order for a sweep.
    /// A sweep that is lost (leadership lost, timeout) hands them back with `requeue`.
    public mutating func takeDueExpiries(at nowMilliseconds: UInt64, limit: Int) -> [[UInt8]] {
        var due: [[UInt8]] = []
        while due.count < limit, let first = dueOrder.min, first.unixMilliseconds <= nowMilliseconds {
            dueOrder.removeMin()
            if expiries[first.key] == first.unixMilliseconds { due.append(first.key) }
        }
        return due
    }

    public mutating func requeue(_ keys: [[UInt8]]) {
        for key in keys {
            if let expiry = expiries[key] { dueOrder.insert(ExpiryMark(unixMilliseconds: expiry, key: key)) }
        }
    }

    /// Applies one entry's command at the entry's time.
    @discardableResult
    public mutating func apply(_ command: KeyValueCommand, at timeMilliseconds: UInt64 = 0) -> KeyValueResult {
        switch command {
        case .put(let key, let value):
            store(key, value)
            setExpiry(of: key, nil)
            return .ok
        case .delete(let key):
            let existed = live(key, timeMilliseconds) != nil
            remove(key)
            return .existed(existed)
        case .compareAndSet(let key, let expected, let new):
            guard let current = live(key, timeMilliseconds), current == expected else { return .mismatch }
            store(key, new)
            setExpiry(of: key, nil)
            return .ok
        case .set(let key, let value, let condition, let expiry, let returnsPrevious):
            let previous = live(key, timeMilliseconds)
            let previousExpiry = previous == nil ? nil : expiries[key]
            let applies: Bool
            switch condition {
            case .always: applies = true
            case .ifAbsent: applies = previous == nil
            case .ifPresent: applies = previous != nil
            }
            if applies {
                store(key, value)
                switch expiry {
                case .clear: setExpiry(of: key, nil)
                case .keep: setExpiry(of: key, previousExpiry)
                case .after, .at: setExpiry(of: key, Self.absolute(expiry, from: timeMilliseconds))
                }
            }
            return .stored(applies, previous: returnsPrevious ? previous : nil)
        case .increment(let key, let delta):
            let current = live(key, timeMilliseconds)
            guard let number = Self.integer(current ?? Array("0".utf8)) else { return .notInteger }
            let (sum, overflow) = number.addingReportingOverflow(delta)
            guard !overflow else { return .overflow }
            if current == nil { setExpiry(of: key, nil) }
            store(key, Array(String(sum).utf8))
            return .integer(sum)
        case .append(let key, let suffix):
            let current = live(key, timeMilliseconds)
            guard (current?.count ?? 0) + suffix.count <= Self.valueBytesMax else { return .tooLarge }
            if current == nil { setExpiry(of: key, nil) }
            let appended = (current ?? []) + suffix
            store(key, appended)
            return .integer(Int64(appended.count))
        case .expire(let key, let expiry):
            guard live(key, timeMilliseconds) != nil else {
                remove(key)
                return .existed(false)
            }
            switch expiry {
            case .clear: setExpiry(of: key, nil)
            case .keep: break
            case .after, .at:
                let absolute = Self.absolute(expiry, from: timeMilliseconds)
                if absolute <= timeMilliseconds { remove(key) } else { setExpiry(of: key, absolute) }
            }
            return .existed(true)
        case .persist(let key):
            guard live(key, timeMilliseconds) != nil, expiries[key] != nil else { return .existed(false) }
            setExpiry(of: key, nil)
            return .existed(true)
        case .sweep(let keys):
            var deleted = 0
            for key in keys {
                if let expiry = expiries[key], expiry <= timeMilliseconds {
                    remove(key)
                    deleted += 1
                }
            }
            return .swept(deleted)
        }
    }

    /// The value, if present and not expired at `time`. A key found expired is left for the
    /// caller's write (or the next sweep) to remove.
    private func live(_ key: [UInt8], _ timeMilliseconds: UInt64) -> [UInt8]? {
        value(for: key, at: timeMilliseconds)
    }

    static func absolute(_ expiry: ExpiryChange, from timeMilliseconds: UInt64) -> UInt64 {
        switch expiry {
        case .after(let milliseconds):
            guard milliseconds > 0 else { return timeMilliseconds }
            let (sum, overflow) = timeMilliseconds.addingReportingOverflow(UInt64(milliseconds))
            return overflow ? UInt64.max : sum
        case .at(let unixMilliseconds): return unixMilliseconds
        case .clear, .keep: return UInt64.max
        }
    }

    /// A decimal 64-bit integer as Redis reads one: an optional `-`, digits, no leading zero
    /// (but `0` itself), no spaces, no `+`.
    static func integer(_ bytes: [UInt8]) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        let negative = bytes[0] == UInt8(ascii: "-")
        let digits = negative ? bytes.dropFirst() : bytes[...]
        guard let first = digits.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { return nil }
        if first == UInt8(ascii: "0") && (digits.count > 1 || negative) { return nil }
        var magnitude: UInt64 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            let (times, overflowTimes) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflowSum) = times.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            guard !overflowTimes, !overflowSum else { return nil }
            magnitude = sum
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    mutating func store(_ key: [UInt8], _ value: [UInt8]) {
        changedKeys.insert(key)
        changedBytes += key.count + value.count
        if let old = values.updateValue(value, forKey: key) {
            dataBytes += value.count - old.count
        } else {
            dataBytes += key.count + value.count
        }
    }

    mutating func remove(_ key: [UInt8]) {
        if let old = values.removeValue(forKey: key) {
            dataBytes -= key.count + old.count
            changedKeys.insert(key)
        }
        expiries[key] = nil
    }

    mutating func setExpiry(of key: [UInt8], _ expiry: UInt64?) {
        guard expiries[key] != expiry else { return }
        expiries[key] = expiry
        if values[key] != nil { changedKeys.insert(key) }
        guard let expiry else { return }
        dueOrder.insert(ExpiryMark(unixMilliseconds: expiry, key: key))
        // Stale marks (changed expiries) are dropped once they outnumber the live ones.
        if dueOrder.count > 2 * expiries.count + 1_024 {
            dueOrder = Heap(expiries.map { ExpiryMark(unixMilliseconds: $0.value, key: $0.key) })
        }
    }
}
