/// Writes commands as a Redis client sends them: a RESP2 array of bulk strings, so that keys
/// and values go byte for byte, whatever they hold.
public enum RedisRequestEncoder {
    /// Appends `*<n>\r\n` and, for every argument, `$<length>\r\n<bytes>\r\n`.
    public static func appendCommand(_ arguments: [[UInt8]], to output: inout [UInt8]) {
        output.append(UInt8(ascii: "*"))
        output.append(contentsOf: String(arguments.count).utf8)
        output.append(contentsOf: crlf)
        for argument in arguments {
            output.append(UInt8(ascii: "$"))
            output.append(contentsOf: String(argument.count).utf8)
            output.append(contentsOf: crlf)
            output.append(contentsOf: argument)
            output.append(contentsOf: crlf)
        }
    }

    /// `SET key value`.
    public static func appendSet(key: [UInt8], value: [UInt8], to output: inout [UInt8]) {
        appendCommand([set, key, value], to: &output)
    }

    /// `GET key`.
    public static func appendGet(key: [UInt8], to output: inout [UInt8]) {
        appendCommand([get, key], to: &output)
    }

    static let crlf: [UInt8] = [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
    static let set = Array("SET".utf8)
    static let get = Array("GET".utf8)
}
