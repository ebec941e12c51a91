/// Why `flotilla certs` could not build a set of development certificates, in words an operator can act on.
public enum DevelopmentCertificateError: Error, Equatable, CustomStringConvertible {
    /// An `--address` that is neither an IP literal nor a host name.
    case invalidAddress(String)
    /// A host count or validity that cannot make a certificate.
    case invalidParameter(String)

    public var description: String {
        switch self {
        case .invalidAddress(let text):
            return "'\(text)' is neither an IP address nor a host name (give the address without a port, e.g. 10.0.0.5 or db-1.example.com)"
        case .invalidParameter(let message):
            return message
        }
    }
}
