/// Where clients reach one host: its line-protocol address and, when it serves RESP, its
/// Redis address. Hosts know each other's raft addresses only, so a host answering `ROUTES`
/// asks each peer for these (the `clientAddresses` request), and each answers with its own.
public struct HostClientAddresses: Sendable, Equatable {
    /// `HOST:PORT` of the line protocol (`--client-addr`); nil when not known.
    public var line: String?
    /// `HOST:PORT` of RESP (`--redis-addr`); nil when it is off or not known.
    public var redis: String?

    public init(line: String? = nil, redis: String? = nil) {
        self.line = line
        self.redis = redis
    }

    /// `client=<addr> redis=<addr>`, each pair only when known: the answer to
    /// `clientAddresses` relayed between hosts.
    public var text: String {
        [line.map { "client=\($0)" }, redis.map { "redis=\($0)" }].compactMap { $0 }.joined(separator: " ")
    }

    /// Reads `text`; nil when a pair is malformed or unknown.
    public init?(text: String) {
        for pair in text.split(separator: " ") {
            guard let equals = pair.firstIndex(of: "=") else { return nil }
            let value = String(pair[pair.index(after: equals)...])
            guard Self.isAddress(value) else { return nil }
            switch pair[..<equals] {
            case "client": line = value
            case "redis": redis = value
            default: return nil
            }
        }
    }

    /// The same addresses, with an unspecified listening host (`0.0.0.0`, `::`) replaced by
    /// `host`, the host name peers reach this host at: a host listening on every interface
    /// advertises where it can actually be reached.
    public func reachable(atHost host: String) -> HostClientAddresses {
        func replaced(_ address: String?) -> String? {
            guard let address, let (listenHost, port) = Self.split(address) else { return address }
            guard Self.unspecifiedHosts.contains(listenHost), !host.isEmpty else { return address }
            return host.contains(":") && !host.hasPrefix("[") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
        return HostClientAddresses(line: replaced(line), redis: replaced(redis))
    }

    static let unspecifiedHosts: Set<String> = ["0.0.0.0", "::", "[::]", ""]

    /// `HOST:PORT` with a port in range, the host without spaces, commas or `@` (the
    /// separators of `ROUTES`).
    public static func isAddress(_ text: String) -> Bool {
        guard !text.contains(where: { $0 == " " || $0 == "," || $0 == "@" }), let (_, port) = split(text) else { return false }
        return (1...65_535).contains(port)
    }

    /// `HOST:PORT` split at its last colon (a bracketed IPv6 host keeps its brackets).
    public static func split(_ address: String) -> (host: String, port: Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
        return (String(address[..<colon]), port)
    }
}
