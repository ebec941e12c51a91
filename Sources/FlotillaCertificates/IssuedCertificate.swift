import X509

/// A certificate with the private key it was issued for: what one host (or the CA) needs on disk.
public struct IssuedCertificate: Sendable {
    public let certificate: Certificate
    /// A P-256 key; its PEM is PKCS#8, which OpenSSL, swift-nio-ssl and every TLS library read.
    public let privateKey: Certificate.PrivateKey

    public init(certificate: Certificate, privateKey: Certificate.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// The certificate as a PEM `CERTIFICATE` block.
    public func certificatePEM() throws -> String {
        try certificate.serializeAsPEM().pemString + "\n"
    }

    /// The key as a PEM `PRIVATE KEY` (PKCS#8) block.
    public func privateKeyPEM() throws -> String {
        try privateKey.serializeAsPEM().pemString + "\n"
    }
}
