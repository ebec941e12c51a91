/// One RESP2 reply, as the load generator reads it from a Redis-speaking server.
public enum RedisReply: Equatable, Sendable {
    /// `+OK\r\n`
    case simpleString([UInt8])
    /// `-ERR message\r\n`: the whole line after the `-`.
    case error([UInt8])
    /// `:42\r\n`
    case integer(Int64)
    /// `$3\r\nabc\r\n`
    case bulkString([UInt8])
    /// `$-1\r\n` (a missing key) or `*-1\r\n`.
    case null
    /// `*2\r\n...`
    case array([RedisReply])

    /// An error reply: what `flotilla bench` counts in `errors=`. A missing key is not an error.
    public var isError: Bool {
        if case .error = self { return true }
        return false
    }
}
