/// A key's place in the due order.
struct ExpiryMark: Comparable, Sendable {
    let unixMilliseconds: UInt64
    let key: [UInt8]
    static func < (left: ExpiryMark, right: ExpiryMark) -> Bool {
        left.unixMilliseconds != right.unixMilliseconds ? left.unixMilliseconds < right.unixMilliseconds
            : left.key.lexicographicallyPrecedes(right.key)
    }
}
