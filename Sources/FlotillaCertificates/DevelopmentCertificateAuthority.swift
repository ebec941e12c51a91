import Crypto
import Foundation
import SwiftASN1
import X509

/// A throwaway certificate authority for development and test clusters: one self-signed CA that
/// signs one certificate per host, so `--tls-cert`, `--tls-key` and `--tls-ca` can be tried
/// without an operator's PKI. Production clusters bring their own CA; nothing here is meant to
/// be trusted beyond the machines that generated it.
///
/// Pure: it builds certificates and their PEM text in memory and touches no file, so the rules
/// (what a CA and a host certificate must carry for mutual TLS) are unit-tested without a disk.
public struct DevelopmentCertificateAuthority: Sendable {
    /// The CA's subject, which every host certificate names as its issuer.
    public static let commonName = "Flotilla development CA"
    /// Ten years: a development CA should outlive every host certificate it signs.
    public static let defaultValidityDays = 3650
    /// One year, the `--days` default for host certificates.
    public static let defaultHostValidityDays = 365
    /// Certificates start this far in the past, so a host whose clock runs a little behind the
    /// generating machine's does not refuse a certificate as "not yet valid".
    static let backdating: TimeInterval = 5 * 60

    /// The CA's certificate and key.
    public let authority: IssuedCertificate

    /// Creates a new CA with a fresh P-256 key.
    public init(now: Date = Date(), validityDays: Int = Self.defaultValidityDays) throws {
        try Self.checkValidity(days: validityDays)
        let signingKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let name = try DistinguishedName { CommonName(Self.commonName) }
        let extensions = try Certificate.Extensions {
            // Critical, so a verifier that does not understand them refuses rather than
            // trusting the CA for something else.
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: signingKey.publicKey)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: signingKey.publicKey,
            notValidBefore: now.addingTimeInterval(-Self.backdating),
            notValidAfter: now.addingTimeInterval(Self.seconds(days: validityDays)),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: signingKey)
        self.authority = IssuedCertificate(certificate: certificate, privateKey: signingKey)
    }

    /// The subject of host `number`'s certificate. Hosts are told apart by their certificate's
    /// addresses and the CA's signature, not by this name; it is there for people reading logs.
    public static func hostCommonName(_ number: Int) -> String { "flotilla-host-\(number)" }

    /// Issues host `number` a certificate with a fresh P-256 key, valid for `validityDays` days
    /// and naming `addresses` as its subject alternative names.
    ///
    /// The extended key usage carries both serverAuth and clientAuth because hosts speak mutual
    /// TLS: every host is the server of the connections it accepts and the client of the ones it
    /// dials, with the same certificate.
    public func issueHostCertificate(
        number: Int, addresses: [HostAddress], now: Date = Date(),
        validityDays: Int = Self.defaultHostValidityDays
    ) throws -> IssuedCertificate {
        guard number >= 1 else { throw DevelopmentCertificateError.invalidParameter("host numbers start at 1, got \(number)") }
        guard !addresses.isEmpty else {
            throw DevelopmentCertificateError.invalidParameter("a host certificate needs at least one address")
        }
        try Self.checkValidity(days: validityDays)
        let names = Self.removingDuplicates(addresses).map(\.generalName)
        return try issueLeafCertificate(commonName: Self.hostCommonName(number), usages: [.serverAuth, .clientAuth],
                                        alternativeNames: names, now: now, validityDays: validityDays)
    }

    /// A leaf certificate this CA signs, with a fresh P-256 key: no CA rights, ECDHE key usages
    /// (ECDHE key exchange signs with the key, digitalSignature; keyAgreement covers clients
    /// that check for it on an EC key), the given extended key usages, and the subject
    /// alternative names if any.
    private func issueLeafCertificate(commonName: String, usages: [ExtendedKeyUsage.Usage], alternativeNames: [GeneralName],
                                      now: Date, validityDays: Int) throws -> IssuedCertificate {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let publicKey = key.publicKey
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true, keyAgreement: true))
            try ExtendedKeyUsage(usages)
            if !alternativeNames.isEmpty { SubjectAlternativeNames(alternativeNames) }
            SubjectKeyIdentifier(hash: publicKey)
            AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: authority.certificate.publicKey).keyIdentifier)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-Self.backdating),
            notValidAfter: now.addingTimeInterval(Self.seconds(days: validityDays)),
            issuer: authority.certificate.subject,
            subject: try DistinguishedName { CommonName(commonName) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: authority.privateKey)
        return IssuedCertificate(certificate: certificate, privateKey: key)
    }

    /// The subject of client `number`'s certificate, for people reading logs and `openssl x509`.
    public static func clientCommonName(_ number: Int) -> String { "flotilla-client-\(number)" }

    /// Issues client `number` a certificate with a fresh P-256 key, valid for `validityDays` days.
    ///
    /// Its extended key usage is clientAuth alone: the raft port admits only certificates that
    /// allow serverAuth, so a client certificate opens the client ports (`--client-tls`) and is
    /// never a member credential, even though the same CA signed it. It names no address, since
    /// nobody dials a client.
    public func issueClientCertificate(
        number: Int, now: Date = Date(), validityDays: Int = Self.defaultHostValidityDays
    ) throws -> IssuedCertificate {
        guard number >= 1 else { throw DevelopmentCertificateError.invalidParameter("client numbers start at 1, got \(number)") }
        try Self.checkValidity(days: validityDays)
        return try issueLeafCertificate(commonName: Self.clientCommonName(number), usages: [.clientAuth],
                                        alternativeNames: [], now: now, validityDays: validityDays)
    }

    /// Every file of a development set: the CA's certificate and key, then each host's, then each
    /// client's, named as `DevelopmentCertificateFile.names(hostCount:clientCount:)` lists them.
    /// A set may hold clients only (a separate CA for `--client-ca`), but not nothing.
    public func files(
        hostCount: Int, clientCount: Int = 0, addresses: [HostAddress], now: Date = Date(),
        hostValidityDays: Int = Self.defaultHostValidityDays
    ) throws -> [DevelopmentCertificateFile] {
        guard hostCount >= 0, clientCount >= 0 else {
            throw DevelopmentCertificateError.invalidParameter("host and client counts may not be negative, got \(hostCount) and \(clientCount)")
        }
        guard hostCount + clientCount >= 1 else {
            throw DevelopmentCertificateError.invalidParameter("the host count must be at least 1 (or 0 with clients), got \(hostCount)")
        }
        var files = [
            DevelopmentCertificateFile(name: "ca.pem", contents: try authority.certificatePEM(), isPrivateKey: false),
            DevelopmentCertificateFile(name: "ca-key.pem", contents: try authority.privateKeyPEM(), isPrivateKey: true),
        ]
        for number in stride(from: 1, through: hostCount, by: 1) {
            let host = try issueHostCertificate(number: number, addresses: addresses, now: now, validityDays: hostValidityDays)
            files.append(DevelopmentCertificateFile(name: "host-\(number).pem", contents: try host.certificatePEM(), isPrivateKey: false))
            files.append(DevelopmentCertificateFile(name: "host-\(number)-key.pem", contents: try host.privateKeyPEM(), isPrivateKey: true))
        }
        for number in stride(from: 1, through: clientCount, by: 1) {
            let client = try issueClientCertificate(number: number, now: now, validityDays: hostValidityDays)
            files.append(DevelopmentCertificateFile(name: "client-\(number).pem", contents: try client.certificatePEM(), isPrivateKey: false))
            files.append(DevelopmentCertificateFile(name: "client-\(number)-key.pem", contents: try client.privateKeyPEM(), isPrivateKey: true))
        }
        return files
    }

    private static func checkValidity(days: Int) throws {
        // 100 years keeps the end date inside what X.509's GeneralizedTime and every verifier handle.
        guard (1...36_500).contains(days) else {
            throw DevelopmentCertificateError.invalidParameter("a validity must be between 1 and 36500 days, got \(days)")
        }
    }

    private static func seconds(days: Int) -> TimeInterval { TimeInterval(days) * 24 * 60 * 60 }

    /// The addresses in the order given, each once: a repeated `--address` is a typing slip, not
    /// a second name.
    private static func removingDuplicates(_ addresses: [HostAddress]) -> [HostAddress] {
        var seen = Set<HostAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }
}
