import NIOSSL
import X509

/// Checks, at start and at every reload, that `--tls-cert` is signed by the CA in `--tls-ca`
/// (directly, or through intermediates that follow it in its file) and may serve both ends of a
/// connection between hosts. Without it, a wrong pairing starts cleanly and then every
/// handshake is refused.
enum CertificateChainCheck {
    static func check(_ files: TLSFiles, chain: [NIOSSLCertificate], roots: [NIOSSLCertificate]) throws {
        let certificates: [Certificate]
        let authorities: [Certificate]
        do {
            certificates = try chain.map { try Certificate(derEncoded: try $0.toDERBytes()) }
            authorities = try roots.map { try Certificate(derEncoded: try $0.toDERBytes()) }
        } catch {
            throw TLSMaterialError("--tls-cert \(files.certificate) or --tls-ca \(files.ca) cannot be parsed as X.509 (\(error))")
        }
        guard let leaf = certificates.first else { return }
        var current = leaf
        var intermediates = Array(certificates.dropFirst())
        for _ in 0...intermediates.count {
            if authorities.contains(where: { signs($0, current) }) {
                try checkUsage(leaf, files)
                return
            }
            guard let next = intermediates.firstIndex(where: { signs($0, current) }) else { break }
            current = intermediates.remove(at: next)
        }
        throw TLSMaterialError("--tls-cert \(files.certificate) is not signed by the CA in --tls-ca \(files.ca)")
    }

    static func signs(_ issuer: Certificate, _ certificate: Certificate) -> Bool {
        issuer.subject == certificate.issuer && issuer.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    /// Each host is a TLS server (its raft port) and a TLS client (its links): a certificate
    /// that limits its extended key usage must allow both.
    static func checkUsage(_ leaf: Certificate, _ files: TLSFiles) throws {
        guard let usage = try? leaf.extensions.extendedKeyUsage else { return }
        let usages = Array(usage)
        let missing = [("serverAuth", ExtendedKeyUsage.Usage.serverAuth), ("clientAuth", ExtendedKeyUsage.Usage.clientAuth)]
            .filter { !usages.contains($0.1) }.map(\.0)
        guard missing.isEmpty else {
            throw TLSMaterialError("--tls-cert \(files.certificate) lacks the extended key usage \(missing.joined(separator: " and ")) a host needs (it serves and dials)")
        }
    }
}
