/// Reading a `STATUS` line back: its `name=value` pairs, and the shard's members. Shared by
/// every consumer of status lines (`flotilla status`'s table, `PLACEMENT`'s gathering), so they
/// read the line alike.
public enum StatusLine {
    /// The `name=value` pairs of a `STATUS` line (tokens without `=` are skipped).
    public static func fields(_ line: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in line.split(separator: " ") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            fields[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return fields
    }

    /// A comma-separated list of node ids (`voters=1,2,3`), in the order given.
    public static func nodes(_ text: String?) -> [UInt64] {
        (text ?? "").split(separator: ",").compactMap { UInt64($0) }
    }
}
