/// Renders a response as one line, `\n` included.
public enum ResponseRenderer {
    public static func render(_ response: ClientResponse) -> [UInt8] {
        var line: [UInt8]
        switch response {
        case .ok: line = Array("OK".utf8)
        case .okIndex(let index): line = Array("OK \(index)".utf8)
        case .exported(let index, let file): line = Array("OK \(index) \(file)".utf8)
        case .value(let value) where value.contains(UInt8(ascii: "\n")) || value.contains(UInt8(ascii: "\r")):
            // Written over RESP, which is binary-safe: a line end would break this protocol's
            // framing, so the value is refused here rather than cut.
            line = Array("ERR BAD_REQUEST the value holds a line end, which the line protocol cannot carry; read it over the Redis protocol".utf8)
        case .value(let value): line = Array("VALUE ".utf8) + value
        case .notFound: line = Array("NOT_FOUND".utf8)
        case .mismatch: line = Array("MISMATCH".utf8)
        case .shard(let shard): line = Array("SHARD \(shard)".utf8)
        case .pong: line = Array("PONG".utf8)
        case .status(let text): line = Array(oneLine(text).utf8)
        case .integer(let number): line = Array("VALUE \(number)".utf8)
        // Answers to Redis-only requests; the line protocol has none of these requests.
        case .stored(let stored, _): line = Array((stored ? "OK" : "NOT_STORED").utf8)
        case .keys(let keys, _): line = Array("KEYS \(keys.count)".utf8)
        case .error(let code, let message): line = Array("ERR \(code.rawValue) \(oneLine(message))".utf8)
        }
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// Text from the engine never breaks the one-line-per-response rule.
    static func oneLine(_ text: String) -> String {
        guard text.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return String(text.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
    }
}
