/// Cuts a RESP2 byte stream into commands: arrays of bulk strings, as every Redis client
/// sends them (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`), and inline commands, as typed into a terminal
/// (`GET k\r\n`, with Redis's quoting). Pure and incremental: bytes may arrive split anywhere,
/// and several commands may arrive at once (pipelining).
///
/// Sizes are checked against the limits as soon as a length is read, before anything is
/// buffered; a command over a limit, or bytes that are not RESP, end the stream: the
/// connection is answered once and closed, as Redis does with protocol errors.
public struct RESPParser: Sendable {
    public enum Event: Equatable, Sendable {
        case command([[UInt8]])
        /// Not RESP; the connection is to be closed after the answer.
        case protocolError(String)
        /// Over a size limit; the connection is to be closed after the answer.
        case tooLarge(String)
    }

    public struct Limits: Sendable {
        /// The largest bulk string: a value of the line protocol's limit, with room to spare.
        public var bulkBytesMax = LineProtocolLimits.valueBytesMax + 2_048
        /// The most arguments in one command.
        public var argumentsMax = 1 << 20
        /// The most bytes in one command's arguments together.
        public var commandBytesMax = 64 << 20
        /// The longest inline command.
        public var inlineBytesMax = 64 << 10
        public init() {}
    }

    private enum State: Sendable {
        case start
        case arrayLength
        case bulkLength
        case bulkData(remaining: Int)
        case bulkEnd(carriageReturnSeen: Bool)
        case inline
        case failed
    }

    public let limits: Limits
    private var state = State.start
    /// The header line (`*3`, `$5`) or inline command read so far.
    private var line: [UInt8] = []
    private var arguments: [[UInt8]] = []
    private var argumentsRemaining = 0
    private var commandBytes = 0
    private var bulk: [UInt8] = []
    /// The longest header line (`*` or `$` and a 64-bit number).
    static let headerBytesMax = 24

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Feeds a chunk; returns the commands completed in it, and at most one error, last.
    public mutating func feed<Bytes: Collection>(_ chunk: Bytes) -> [Event] where Bytes.Element == UInt8, Bytes.Index == Int {
        var events: [Event] = []
        var index = chunk.startIndex
        while index < chunk.endIndex {
            switch state {
            case .failed:
                return events
            case .start:
                let byte = chunk[index]
                if byte == UInt8(ascii: "*") {
                    state = .arrayLength
                    line.removeAll(keepingCapacity: true)
                    index += 1
                } else {
                    state = .inline
                    line.removeAll(keepingCapacity: true)
                }
            case .arrayLength, .bulkLength:
                guard let newline = chunk[index...].firstIndex(of: UInt8(ascii: "\n")) else {
                    line.append(contentsOf: chunk[index...])
                    index = chunk.endIndex
                    // One more byte than a header may hold: its `\r`, which the line end may
                    // still follow (how the bytes are split must not change the verdict).
                    if line.count > Self.headerBytesMax + 1 { return fail(&events, .protocolError("Protocol error: invalid length line")) }
                    continue
                }
                line.append(contentsOf: chunk[index..<newline])
                index = newline + 1
                if let event = headerComplete() {
                    events.append(event)
                    if case .command = event { continue }
                    state = .failed
                    return events
                }
            case .bulkData(let remaining):
                let available = min(remaining, chunk.endIndex - index)
                bulk.append(contentsOf: chunk[index..<(index + available)])
                index += available
                state = remaining == available ? .bulkEnd(carriageReturnSeen: false) : .bulkData(remaining: remaining - available)
            case .bulkEnd(let carriageReturnSeen):
                let byte = chunk[index]
                index += 1
                if !carriageReturnSeen {
                    guard byte == UInt8(ascii: "\r") else { return fail(&events, .protocolError("Protocol error: bulk string not followed by CRLF")) }
                    state = .bulkEnd(carriageReturnSeen: true)
                } else {
                    guard byte == UInt8(ascii: "\n") else { return fail(&events, .protocolError("Protocol error: bulk string not followed by CRLF")) }
                    arguments.append(bulk)
                    bulk = []
                    argumentsRemaining -= 1
                    if argumentsRemaining == 0 {
                        events.append(.command(arguments))
                        arguments = []
                        state = .start
                    } else {
                        state = .bulkLength
                        line.removeAll(keepingCapacity: true)
                    }
                }
            case .inline:
                guard let newline = chunk[index...].firstIndex(of: UInt8(ascii: "\n")) else {
                    line.append(contentsOf: chunk[index...])
                    index = chunk.endIndex
                    if line.count > limits.inlineBytesMax { return fail(&events, .tooLarge("inline command over \(limits.inlineBytesMax) bytes")) }
                    continue
                }
                line.append(contentsOf: chunk[index..<newline])
                index = newline + 1
                if line.count > limits.inlineBytesMax { return fail(&events, .tooLarge("inline command over \(limits.inlineBytesMax) bytes")) }
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                state = .start
                switch Self.splitInline(line) {
                case .none:
                    return fail(&events, .protocolError("Protocol error: unbalanced quotes in request"))
                case .some(let words) where words.isEmpty:
                    continue
                case .some(let words):
                    events.append(.command(words))
                }
            }
        }
        return events
    }

    private mutating func fail(_ events: inout [Event], _ event: Event) -> [Event] {
        state = .failed
        events.append(event)
        return events
    }

    /// A complete `*N` or `$N` line (its `\n` removed): the next state, or an event.
    private mutating func headerComplete() -> Event? {
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        if line.count > Self.headerBytesMax { return .protocolError("Protocol error: invalid length line") }
        switch state {
        case .arrayLength:
            guard let count = Self.number(line[...]) else { return .protocolError("Protocol error: invalid multibulk length") }
            guard count <= limits.argumentsMax else { return .tooLarge("command of \(count) arguments is over the \(limits.argumentsMax)-argument limit") }
            if count <= 0 {
                // An empty command (`*0`, `*-1`) is nothing to answer, as in Redis.
                state = .start
                return nil
            }
            arguments = []
            arguments.reserveCapacity(min(count, 1_024))
            argumentsRemaining = count
            commandBytes = 0
            state = .bulkLength
            line.removeAll(keepingCapacity: true)
            return nil
        case .bulkLength:
            guard line.first == UInt8(ascii: "$") else {
                let shown = line.first.map { String(decoding: [$0], as: UTF8.self) } ?? "end of line"
                return .protocolError("Protocol error: expected '$', got '\(shown)'")
            }
            guard let length = Self.number(line.dropFirst()), length >= 0 else { return .protocolError("Protocol error: invalid bulk length") }
            guard length <= limits.bulkBytesMax else {
                return .tooLarge("bulk string of \(length) bytes is over the \(limits.bulkBytesMax)-byte limit")
            }
            commandBytes += length
            guard commandBytes <= limits.commandBytesMax else {
                return .tooLarge("command over \(limits.commandBytesMax) bytes")
            }
            bulk = []
            bulk.reserveCapacity(length)
            state = length == 0 ? .bulkEnd(carriageReturnSeen: false) : .bulkData(remaining: length)
            return nil
        default:
            return nil
        }
    }

    /// A decimal, possibly negative, that fits in an `Int`.
    static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        let negative = digits.first == UInt8(ascii: "-")
        let body = negative ? digits.dropFirst() : digits
        guard !body.isEmpty else { return nil }
        var value = 0
        for digit in body {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            let (times, overflowTimes) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowSum) = times.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            guard !overflowTimes, !overflowSum else { return nil }
            value = sum
        }
        return negative ? -value : value
    }

    /// Splits an inline command into words as Redis does: spaces and tabs separate words;
    /// `"..."` may hold spaces and the escapes `\n \r \t \b \a \\ \" \xHH`; `'...'` may hold
    /// spaces and `\'`; a quote may open in the middle of a word. Nil when a quote is not closed
    /// or its closing is followed by something other than a space.
    static func splitInline(_ line: [UInt8]) -> [[UInt8]]? {
        var words: [[UInt8]] = []
        var index = 0
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C }
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while true {
            while index < line.count, isSpace(line[index]) { index += 1 }
            guard index < line.count else { return words }
            var word: [UInt8] = []
            // The quote open in this word, if any: as in Redis, a quote may open anywhere in a
            // word (`a"b c"` is `ab c`), and its closing ends the word.
            var quote: UInt8?
            scanning: while true {
                guard let open = quote else {
                    guard index < line.count, !isSpace(line[index]) else { break scanning }
                    let byte = line[index]
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") { quote = byte } else { word.append(byte) }
                    index += 1
                    continue
                }
                guard index < line.count else { return nil }
                let byte = line[index]
                if open == UInt8(ascii: "\""), byte == UInt8(ascii: "\\"), index + 3 < line.count, line[index + 1] == UInt8(ascii: "x"),
                   let high = hexValue(line[index + 2]), let low = hexValue(line[index + 3]) {
                    word.append(high << 4 | low)
                    index += 4
                } else if open == UInt8(ascii: "\""), byte == UInt8(ascii: "\\"), index + 1 < line.count {
                    let escaped = line[index + 1]
                    switch escaped {
                    case UInt8(ascii: "n"): word.append(0x0A)
                    case UInt8(ascii: "r"): word.append(0x0D)
                    case UInt8(ascii: "t"): word.append(0x09)
                    case UInt8(ascii: "b"): word.append(0x08)
                    case UInt8(ascii: "a"): word.append(0x07)
                    default: word.append(escaped)
                    }
                    index += 2
                } else if open == UInt8(ascii: "'"), byte == UInt8(ascii: "\\"), index + 1 < line.count, line[index + 1] == UInt8(ascii: "'") {
                    word.append(UInt8(ascii: "'"))
                    index += 2
                } else if byte == open {
                    index += 1
                    guard index == line.count || isSpace(line[index]) else { return nil }
                    break scanning
                } else {
                    word.append(byte)
                    index += 1
                }
            }
            words.append(word)
        }
    }
}
