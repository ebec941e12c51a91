/// A RESP2 reply, and its bytes.
public indirect enum RESPValue: Equatable, Sendable {
    case simple(String)
    /// `-CODE message`: the text holds both.
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    case null
    case array([RESPValue])
    case nullArray

    public static let ok = RESPValue.simple("OK")

    public var bytes: [UInt8] {
        var output: [UInt8] = []
        append(to: &output)
        return output
    }

    public func append(to output: inout [UInt8]) {
        switch self {
        case .simple(let text):
            output.append(UInt8(ascii: "+"))
            output.append(contentsOf: Self.oneLine(text).utf8)
            output.append(contentsOf: Self.lineEnd)
        case .error(let text):
            output.append(UInt8(ascii: "-"))
            output.append(contentsOf: Self.oneLine(text).utf8)
            output.append(contentsOf: Self.lineEnd)
        case .integer(let number):
            output.append(UInt8(ascii: ":"))
            output.append(contentsOf: String(number).utf8)
            output.append(contentsOf: Self.lineEnd)
        case .bulk(let bytes):
            output.append(UInt8(ascii: "$"))
            output.append(contentsOf: String(bytes.count).utf8)
            output.append(contentsOf: Self.lineEnd)
            output.append(contentsOf: bytes)
            output.append(contentsOf: Self.lineEnd)
        case .null:
            output.append(contentsOf: Array("$-1\r\n".utf8))
        case .array(let elements):
            output.append(UInt8(ascii: "*"))
            output.append(contentsOf: String(elements.count).utf8)
            output.append(contentsOf: Self.lineEnd)
            for element in elements { element.append(to: &output) }
        case .nullArray:
            output.append(contentsOf: Array("*-1\r\n".utf8))
        }
    }

    static let lineEnd: [UInt8] = [0x0D, 0x0A]

    /// Simple strings and errors may not break their line (as the line protocol's answers).
    static func oneLine(_ text: String) -> String { ResponseRenderer.oneLine(text) }

    public static func bulk(_ text: String) -> RESPValue { .bulk(Array(text.utf8)) }
}
