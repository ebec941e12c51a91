/// Cuts a byte stream into request lines. A line longer than `lineBytesMax` (its end not
/// counted) is reported as soon as the limit is passed, without buffering the rest; the
/// connection is then to be answered `TOO_LARGE` and closed.
public struct LineFramer: Sendable {
    public enum Event: Equatable, Sendable {
        case line([UInt8])
        case tooLarge
    }

    public let lineBytesMax: Int
    private var partial: [UInt8] = []
    private var overflowed = false

    public init(lineBytesMax: Int = LineProtocolLimits.lineBytesMax) {
        self.lineBytesMax = lineBytesMax
    }

    /// Feeds a chunk; returns the complete lines in it (and at most one `tooLarge`, last).
    public mutating func feed<Bytes: Collection>(_ chunk: Bytes) -> [Event] where Bytes.Element == UInt8 {
        guard !overflowed else { return [] }
        var events: [Event] = []
        var start = chunk.startIndex
        while start != chunk.endIndex {
            if let newline = chunk[start...].firstIndex(of: UInt8(ascii: "\n")) {
                partial.append(contentsOf: chunk[start..<newline])
                if exceedsLimit() {
                    overflowed = true
                    events.append(.tooLarge)
                    return events
                }
                var line = partial
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                events.append(.line(line))
                partial.removeAll(keepingCapacity: true)
                start = chunk.index(after: newline)
            } else {
                partial.append(contentsOf: chunk[start...])
                if exceedsLimit() {
                    overflowed = true
                    events.append(.tooLarge)
                }
                return events
            }
        }
        return events
    }

    /// A trailing `\r` is part of the line end, so one byte of slack is allowed for it.
    private func exceedsLimit() -> Bool {
        partial.count > lineBytesMax + (partial.last == UInt8(ascii: "\r") ? 1 : 0)
    }
}
