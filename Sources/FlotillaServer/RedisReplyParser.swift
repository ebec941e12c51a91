/// Splits a stream of RESP2 replies into `RedisReply` values, whatever the chunks the socket
/// hands over: a reply cut anywhere (even between `\r` and `\n`) waits for the rest, and
/// several pipelined replies in one chunk come out one by one, in order.
///
/// Pure code, no I/O, so that it is tested byte by byte. A stream that is not RESP2 (an unknown
/// type byte, a bad length, a missing `\r\n`) is an error: the load generator then gives up the
/// connection rather than guess where the next reply starts.
public struct RedisReplyParser: Sendable {
    public struct MalformedReply: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// A bulk string longer than this is refused before it is buffered: no reply to SET or GET
    /// from a store that caps values at 1 MiB comes near it.
    public static let maximumBulkLengthBytes = 64 << 20
    /// Arrays nested deeper than this are refused (a reply to SET or GET has none).
    public static let maximumNestingDepth = 16

    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    /// Bytes not yet consumed by a complete reply.
    public var bufferedByteCount: Int { buffer.count - start }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete reply, or nil until more bytes arrive.
    public mutating func next() throws(MalformedReply) -> RedisReply? {
        guard let (reply, end) = try Self.parse(buffer, from: start, depth: 0) else { return nil }
        start = end
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 1 << 15 {
            buffer.removeFirst(start)
            start = 0
        }
        return reply
    }

    /// The reply that starts at `position` and the index just past it, or nil when the bytes end first.
    static func parse(_ bytes: [UInt8], from position: Int, depth: Int) throws(MalformedReply) -> (RedisReply, Int)? {
        guard position < bytes.count else { return nil }
        guard let (line, afterLine) = try lineContent(bytes, from: position + 1) else { return nil }
        let payload = Array(bytes[line])
        switch bytes[position] {
        case UInt8(ascii: "+"):
            return (.simpleString(payload), afterLine)
        case UInt8(ascii: "-"):
            return (.error(payload), afterLine)
        case UInt8(ascii: ":"):
            return (.integer(try integer(payload, what: "integer reply")), afterLine)
        case UInt8(ascii: "$"):
            let length = try integer(payload, what: "bulk length")
            if length == -1 { return (.null, afterLine) }
            guard length >= 0, length <= maximumBulkLengthBytes else {
                throw MalformedReply(description: "bulk length \(length) out of range")
            }
            let end = afterLine + Int(length)
            guard end + 2 <= bytes.count else { return nil }
            guard bytes[end] == UInt8(ascii: "\r"), bytes[end + 1] == UInt8(ascii: "\n") else {
                throw MalformedReply(description: "bulk string of \(length) bytes not followed by CRLF")
            }
            return (.bulkString(Array(bytes[afterLine..<end])), end + 2)
        case UInt8(ascii: "*"):
            let count = try integer(payload, what: "array length")
            if count == -1 { return (.null, afterLine) }
            guard count >= 0, count <= Int64(maximumBulkLengthBytes) else {
                throw MalformedReply(description: "array length \(count) out of range")
            }
            guard depth < maximumNestingDepth else { throw MalformedReply(description: "arrays nested too deep") }
            var elements: [RedisReply] = []
            var next = afterLine
            for _ in 0..<count {
                guard let (element, end) = try parse(bytes, from: next, depth: depth + 1) else { return nil }
                elements.append(element)
                next = end
            }
            return (.array(elements), next)
        default:
            throw MalformedReply(description: "unexpected reply type byte \(bytes[position])")
        }
    }

    /// The range of a line's content from `position` up to its `\r\n`, and the index after the
    /// `\n`; nil when the line is not complete yet. A bare `\n` is malformed.
    private static func lineContent(_ bytes: [UInt8], from position: Int) throws(MalformedReply) -> (Range<Int>, Int)? {
        var index = position
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") { throw MalformedReply(description: "line ends with LF without CR") }
            if bytes[index] == UInt8(ascii: "\r") {
                guard index + 1 < bytes.count else { return nil }
                guard bytes[index + 1] == UInt8(ascii: "\n") else { throw MalformedReply(description: "CR not followed by LF") }
                return (position..<index, index + 2)
            }
            index += 1
        }
        return nil
    }

    private static func integer(_ text: [UInt8], what: String) throws(MalformedReply) -> Int64 {
        guard let value = Int64(String(decoding: text, as: UTF8.self)) else {
            throw MalformedReply(description: "\(what) '\(String(decoding: text.prefix(32), as: UTF8.self))' is not an integer")
        }
        return value
    }
}
