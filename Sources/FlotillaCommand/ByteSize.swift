import ArgumentParser

/// A size given on the command line: bytes, or a number with a K, M, G or T suffix (powers of
/// 1024, as `ulimit` and LMDB's tools count).
struct ByteSize: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    /// Below this LMDB cannot hold even an empty store with its tables.
    static let bytesMin = 1 << 20

    let bytes: Int

    init(bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        let text = argument.uppercased()
        let multipliers: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = Substring(text)
        var multiplier = 1
        if let last = text.last, let found = multipliers[last] {
            multiplier = found
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let number = Int(digits), number > 0 else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow, bytes >= Self.bytesMin else { return nil }
        self.bytes = bytes
    }

    var description: String {
        for (suffix, multiplier) in [("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] where bytes % multiplier == 0 {
            return "\(bytes / multiplier)\(suffix)"
        }
        return "\(bytes)"
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
