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

/// Splits `host:port` (a DNS name is allowed; it is resolved at each connection attempt).
func splitAddress(_ address: String) -> (host: String, port: Int)? {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
    return (String(address[..<colon]), port)
}
