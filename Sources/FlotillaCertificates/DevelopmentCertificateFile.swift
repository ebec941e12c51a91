/// One file of a development certificate set: its name in the directory, its text, and whether
/// it holds a private key (and so must be readable by its owner only).
///
/// The set is described as data so the certificate logic stays free of file I/O and testable;
/// `flotilla certs` only writes what it is given.
public struct DevelopmentCertificateFile: Sendable, Equatable {
    public let name: String
    public let contents: String
    public let isPrivateKey: Bool

    public init(name: String, contents: String, isPrivateKey: Bool) {
        self.name = name
        self.contents = contents
        self.isPrivateKey = isPrivateKey
    }

    /// The permission bits to create the file with: 0600 for a key, 0644 for a certificate.
    public var permissions: UInt16 { isPrivateKey ? 0o600 : 0o644 }

    /// The names `flotilla certs` writes for `hostCount` hosts and `clientCount` clients, in the
    /// order it writes them.
    public static func names(hostCount: Int, clientCount: Int = 0) -> [String] {
        ["ca.pem", "ca-key.pem"]
            + (0..<max(0, hostCount)).map { $0 + 1 }.flatMap { ["host-\($0).pem", "host-\($0)-key.pem"] }
            + (0..<max(0, clientCount)).map { $0 + 1 }.flatMap { ["client-\($0).pem", "client-\($0)-key.pem"] }
    }
}
