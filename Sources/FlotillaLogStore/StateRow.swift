/// One key of a replica's state with its value. Rows are kept in the order of `(position, key)`:
/// `position` is the caller's (the host's scan order: a hash of the key), so that an iteration
/// can resume after any row and keys can be walked in an order that does not depend on them.
public struct StateRow: Sendable, Equatable {
    public var position: UInt64
    public var key: [UInt8]
    public var value: StateValue

    public init(position: UInt64, key: [UInt8], value: StateValue) {
        self.position = position
        self.key = key
        self.value = value
    }

    /// Where an iteration resumes: strictly after this row.
    public var resumePoint: StateResumePoint { StateResumePoint(position: position, key: key) }
}

/// A place in a replica's state order: iterations resume strictly after it.
public struct StateResumePoint: Sendable, Equatable, Comparable {
    public var position: UInt64
    public var key: [UInt8]

    public init(position: UInt64, key: [UInt8]) {
        self.position = position
        self.key = key
    }

    public static func < (left: StateResumePoint, right: StateResumePoint) -> Bool {
        left.position != right.position ? left.position < right.position : left.key.lexicographicallyPrecedes(right.key)
    }
}
