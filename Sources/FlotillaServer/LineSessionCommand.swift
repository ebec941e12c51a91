/// The line protocol's commands about the connection itself, answered by the session and
/// never sent to the engine: `HINTS ON` and `HINTS OFF` (`LeaderHint`).
enum LineSessionCommand: Equatable {
    case hints(Bool)

    /// The command the line is, nil when it is none of them (the line is then a request for
    /// the engine); a malformed `HINTS` line is refused.
    static func parse(_ line: [UInt8]) -> Result<LineSessionCommand, RequestParser.Refusal>? {
        let name = Array("HINTS".utf8)
        guard line.count >= name.count,
              zip(line.prefix(name.count), name).allSatisfy({ $0 & 0xDF == $1 }),
              line.count == name.count || line[name.count] == UInt8(ascii: " ") else { return nil }
        switch String(decoding: line.dropFirst(name.count), as: UTF8.self).uppercased() {
        case " ON": return .success(.hints(true))
        case " OFF": return .success(.hints(false))
        default: return .failure(.init(code: .badRequest, message: "HINTS takes ON or OFF: HINTS ON|OFF"))
        }
    }
}
