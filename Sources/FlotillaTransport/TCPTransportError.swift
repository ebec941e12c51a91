import FlotillaRaft

public enum TCPTransportError: Error, CustomStringConvertible {
    case unknownPeer(ReplicaID)
    case unreachable(String)
    /// The request never left this host: trying another host is safe.
    case notSent(String)
    case timeout

    public var description: String {
        switch self {
        case .unknownPeer(let node): return "no address known for node \(node)"
        case .unreachable(let detail): return "peer unreachable: \(detail)"
        case .notSent(let detail): return "not sent: \(detail)"
        case .timeout: return "peer did not answer in time"
        }
    }
}

/// Splits `HOST:PORT` (a DNS name is allowed; it is resolved at each connection attempt);
/// nil for an empty host or a port outside 0...65535.
public func splitHostPort(_ address: String) -> (host: String, port: Int)? {
    guard let colon = address.lastIndex(of: ":"), colon != address.startIndex,
          let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else { return nil }
    return (String(address[..<colon]), port)
}
