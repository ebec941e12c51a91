/// Parses one request line (without its line end: the `LineFramer` has already removed the
/// `\n` and the one `\r` before it) into a request, or the error to answer. Pure, so that
/// every byte-level rule is tested without a socket.
public enum RequestParser {
    public struct Refusal: Error, Equatable, Sendable {
        public var code: ClientErrorCode
        public var message: String
    }

    public static func parse(_ line: [UInt8]) -> Result<ClientRequest, Refusal> {
        if line.isEmpty { return .failure(.init(code: .badRequest, message: "empty request")) }
        if line.contains(UInt8(ascii: "\r")) {
            return .failure(.init(code: .badRequest, message: "a request may not contain a carriage return"))
        }
        let commandEnd = line.firstIndex(of: UInt8(ascii: " ")) ?? line.count
        let command = String(decoding: line[0..<commandEnd], as: UTF8.self).uppercased()
        let rest = commandEnd < line.count ? Array(line[(commandEnd + 1)...]) : nil
        switch command {
        case "PUT":
            guard let rest else { return bad("PUT needs a key and a value: PUT <key> <value>") }
            guard let space = rest.firstIndex(of: UInt8(ascii: " ")) else {
                return bad("PUT needs a space after the key (PUT <key> <value>; the value may be empty)")
            }
            let key = Array(rest[0..<space])
            let value = Array(rest[(space + 1)...])
            if let refusal = checkKey(key) { return .failure(refusal) }
            if value.count > LineProtocolLimits.valueBytesMax {
                return .failure(.init(code: .tooLarge, message: "value of \(value.count) bytes is over the \(LineProtocolLimits.valueBytesMax)-byte limit"))
            }
            return .success(.put(key: key, value: value))
        case "GET", "STALE-GET", "DEL", "SHARD":
            guard let tokens = tokens(rest, count: 1, usage: "\(command) <key>") else { return bad("\(command) takes one key: \(command) <key>") }
            if let refusal = checkKey(tokens[0]) { return .failure(refusal) }
            switch command {
            case "GET": return .success(.get(key: tokens[0]))
            case "STALE-GET": return .success(.staleGet(key: tokens[0]))
            case "DEL": return .success(.delete(key: tokens[0]))
            default: return .success(.shard(key: tokens[0]))
            }
        case "CAS":
            guard let tokens = tokens(rest, count: 3, usage: "") else { return bad("CAS takes a key and two single-token values: CAS <key> <expected> <new>") }
            if let refusal = checkKey(tokens[0]) { return .failure(refusal) }
            for value in tokens[1...] where value.count > LineProtocolLimits.valueBytesMax {
                return .failure(.init(code: .tooLarge, message: "value of \(value.count) bytes is over the \(LineProtocolLimits.valueBytesMax)-byte limit"))
            }
            return .success(.compareAndSet(key: tokens[0], expected: tokens[1], new: tokens[2]))
        case "INCR":
            guard let tokens = tokens(rest, count: 2, usage: ""), let delta = signedInteger(tokens[1]) else {
                return bad("INCR takes a key and a signed 64-bit delta: INCR <key> <delta>")
            }
            if let refusal = checkKey(tokens[0]) { return .failure(refusal) }
            return .success(.increment(key: tokens[0], delta: delta))
        case "PING":
            guard rest == nil else { return bad("PING takes no arguments") }
            return .success(.ping)
        case "PLACEMENT":
            guard rest == nil else { return bad("PLACEMENT takes no arguments") }
            return .success(.placement)
        case "ROUTES":
            guard rest == nil else { return bad("ROUTES takes no arguments") }
            return .success(.routes)
        case "REBALANCE":
            guard rest == nil else { return bad("REBALANCE takes no arguments") }
            return .success(.rebalance)
        case "DRAIN":
            guard let tokens = tokens(rest, count: 1, usage: ""), let node = positive(tokens[0]) else {
                return bad("DRAIN takes a node id: DRAIN <node>")
            }
            return .success(.drain(node: node))
        case "ADD-HOST":
            guard let tokens = tokens(rest, count: 2, usage: ""), let node = positive(tokens[0]), validAddress(tokens[1]) else {
                return bad("ADD-HOST takes a node id and a raft address: ADD-HOST <node> <host:port>")
            }
            return .success(.addHost(node: node, address: String(decoding: tokens[1], as: UTF8.self)))
        case "STATUS" where rest.map({ $0.contains(UInt8(ascii: " ")) }) == true:
            guard let tokens = tokens(rest, count: 2, usage: ""), let shard = shardNumber(tokens[0]), let node = positive(tokens[1]) else {
                return bad("STATUS takes a shard number and optionally a node id: STATUS <shard> [<node>]")
            }
            return .success(.replicaStatus(shard: shard, node: node))
        case "STATUS", "SNAPSHOT":
            guard let tokens = tokens(rest, count: 1, usage: ""), let shard = shardNumber(tokens[0]) else {
                return bad("\(command) takes a shard number: \(command) <shard>")
            }
            return .success(command == "STATUS" ? .status(shard: shard) : .snapshot(shard: shard))
        case "ADD-OBSERVER":
            guard let tokens = tokens(rest, count: 3, usage: ""), let shard = shardNumber(tokens[0]), let node = positive(tokens[1]),
                  validAddress(tokens[2]) else {
                return bad("ADD-OBSERVER takes a shard, a node id and a raft address: ADD-OBSERVER <shard> <node> <host:port>")
            }
            return .success(.addObserver(shard: shard, node: node, address: String(decoding: tokens[2], as: UTF8.self)))
        case "PROMOTE", "REMOVE", "TRANSFER":
            guard let tokens = tokens(rest, count: 2, usage: ""), let shard = shardNumber(tokens[0]), let node = positive(tokens[1]) else {
                return bad("\(command) takes a shard and a node id: \(command) <shard> <node>")
            }
            switch command {
            case "PROMOTE": return .success(.promote(shard: shard, node: node))
            case "REMOVE": return .success(.remove(shard: shard, node: node))
            default: return .success(.transfer(shard: shard, node: node))
            }
        case "EXPORT":
            guard let tokens = tokens(rest, count: 2, usage: ""), let shard = shardNumber(tokens[0]), !tokens[1].contains(0) else {
                return bad("EXPORT takes a shard and a directory: EXPORT <shard> <dir>")
            }
            return .success(.export(shard: shard, directory: String(decoding: tokens[1], as: UTF8.self)))
        default:
            let shown = command.count > 40 ? String(command.prefix(40)) + "..." : command
            return bad("unknown command '\(shown)'")
        }
    }

    static func bad(_ message: String) -> Result<ClientRequest, Refusal> {
        .failure(.init(code: .badRequest, message: message))
    }

    /// Exactly `count` tokens separated by single spaces, none empty.
    static func tokens(_ rest: [UInt8]?, count: Int, usage: String) -> [[UInt8]]? {
        guard let rest else { return nil }
        let parts = rest.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false).map(Array.init)
        guard parts.count == count, !parts.contains(where: \.isEmpty) else { return nil }
        return parts
    }

    /// Decimal digits only: `UInt64("+3")` would accept a sign the protocol does not have.
    /// A shard number: digits only. Zero parses, so that it is answered `UNKNOWN_SHARD` (out of
    /// range, SPEC "Errors") rather than `BAD_REQUEST`.
    static func shardNumber(_ token: [UInt8]) -> UInt64? {
        guard token.count <= 20, token.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return UInt64(String(decoding: token, as: UTF8.self))
    }

    /// A signed 64-bit decimal: an optional `-`, then digits.
    public static func signedInteger(_ token: [UInt8]) -> Int64? {
        let digits = token.first == UInt8(ascii: "-") ? token.dropFirst() : token[...]
        guard !digits.isEmpty, digits.count <= 19, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return Int64(String(decoding: token, as: UTF8.self))
    }

    static func positive(_ token: [UInt8]) -> UInt64? {
        guard token.count <= 20, token.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let value = UInt64(String(decoding: token, as: UTF8.self)), value > 0 else { return nil }
        return value
    }

    static func validAddress(_ token: [UInt8]) -> Bool {
        let text = String(decoding: token, as: UTF8.self)
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
              let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return false }
        return true
    }

    static func checkKey(_ key: [UInt8]) -> Refusal? {
        if key.isEmpty { return .init(code: .badRequest, message: "empty key") }
        if key.count > LineProtocolLimits.keyBytesMax {
            return .init(code: .tooLarge, message: "key of \(key.count) bytes is over the \(LineProtocolLimits.keyBytesMax)-byte limit")
        }
        if key.contains(0) { return .init(code: .badRequest, message: "a key may not contain NUL") }
        return nil
    }
}
