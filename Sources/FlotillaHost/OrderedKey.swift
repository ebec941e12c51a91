/// A key in `ScanOrder`: by position, then by bytes.
struct OrderedKey: Comparable, Sendable {
    let bytes: [UInt8]
    let position: UInt64

    init(bytes: [UInt8]) {
        self.bytes = bytes
        position = ScanOrder.position(of: bytes)
    }

    static func < (left: OrderedKey, right: OrderedKey) -> Bool {
        left.position != right.position ? left.position < right.position : left.bytes.lexicographicallyPrecedes(right.bytes)
    }

    static func == (left: OrderedKey, right: OrderedKey) -> Bool { left.bytes == right.bytes }
}
