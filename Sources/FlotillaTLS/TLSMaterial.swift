import Foundation
import NIOSSL

/// The three PEM files of `--tls-cert`, `--tls-key` and `--tls-ca`, and the optional
/// `--client-ca`.
public struct TLSFiles: Sendable, Equatable {
    public var certificate: String
    public var key: String
    public var ca: String
    /// `--client-ca`: the CA that signs client certificates on the client ports, instead of
    /// `ca`; nil: clients need a certificate `ca` signed.
    public var clientCA: String?

    public init(certificate: String, key: String, ca: String, clientCA: String? = nil) {
        self.certificate = certificate
        self.key = key
        self.ca = ca
        self.clientCA = clientCA
    }

    /// All three flags or none: nil for none, a refusal naming the missing ones for a subset.
    public static func fromFlags(certificate: String?, key: String?, ca: String?) throws -> TLSFiles? {
        let given = [("--tls-cert", certificate), ("--tls-key", key), ("--tls-ca", ca)]
        let missing = given.filter { $0.1 == nil }.map(\.0)
        if missing.count == 3 { return nil }
        guard missing.isEmpty, let certificate, let key, let ca else {
            let present = given.filter { $0.1 != nil }.map(\.0)
            throw TLSMaterialError("\(present.joined(separator: " and ")) given without \(missing.joined(separator: " and ")): --tls-cert, --tls-key and --tls-ca go together")
        }
        return TLSFiles(certificate: certificate, key: key, ca: ca)
    }
}

/// A refusal of the TLS files, naming the flag and the file.
public struct TLSMaterialError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The certificate chain, private key and trusted CAs read from the three files and checked:
/// each file readable and parseable, every certificate within its validity period, the key
/// the one of the certificate (all checked by building a server context, which BoringSSL
/// refuses for a key that does not match).
public struct TLSMaterial: Sendable {
    public let files: TLSFiles
    public let certificateChain: [NIOSSLCertificate]
    public let privateKey: NIOSSLPrivateKey
    public let trustRoots: [NIOSSLCertificate]
    /// The `--client-ca` certificates; nil when clients are checked against `trustRoots`.
    public let clientTrustRoots: [NIOSSLCertificate]?

    /// The leaf certificate's serial number in hex (logged on load and reload).
    public var serialHex: String { certificateChain[0].serialNumber.map { String(format: "%02x", $0) }.joined() }

    public static func load(_ files: TLSFiles, now: Date = Date()) throws -> TLSMaterial {
        let chain = try readCertificates(files.certificate, flag: "--tls-cert", now: now)
        let roots = try readCertificates(files.ca, flag: "--tls-ca", now: now)
        let clientRoots = try files.clientCA.map { try readCertificates($0, flag: "--client-ca", now: now) }
        let keyBytes = try readFile(files.key, flag: "--tls-key")
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw TLSMaterialError("--tls-key \(files.key) is not a PEM private key (\(error))")
        }
        try CertificateChainCheck.check(files, chain: chain, roots: roots)
        let material = TLSMaterial(files: files, certificateChain: chain, privateKey: key, trustRoots: roots, clientTrustRoots: clientRoots)
        // BoringSSL refuses to build a context whose key is not the certificate's.
        do {
            _ = try NIOSSLContext(configuration: material.serverConfiguration(requireClientCertificate: true))
        } catch {
            throw mismatch(files, detail: "\(error)")
        }
        return material
    }

    static func mismatch(_ files: TLSFiles, detail: String? = nil) -> TLSMaterialError {
        TLSMaterialError("--tls-key \(files.key) does not match the certificate in \(files.certificate)" + (detail.map { " (\($0))" } ?? ""))
    }

    static func readFile(_ path: String, flag: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw TLSMaterialError("\(flag) \(path) does not exist") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TLSMaterialError("\(flag) \(path) cannot be read (\(String(cString: strerror(errno))))")
        }
        defer { try? handle.close() }
        do {
            return Array(try handle.readToEnd() ?? Data())
        } catch {
            throw TLSMaterialError("\(flag) \(path) cannot be read (\(error))")
        }
    }

    static func readCertificates(_ path: String, flag: String, now: Date) throws -> [NIOSSLCertificate] {
        let bytes = try readFile(path, flag: flag)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw TLSMaterialError("\(flag) \(path) is not a PEM certificate (\(error))")
        }
        guard !certificates.isEmpty else { throw TLSMaterialError("\(flag) \(path) holds no PEM certificate") }
        let seconds = Int(now.timeIntervalSince1970)
        for certificate in certificates {
            let notAfter = Int(certificate.notValidAfter)
            if notAfter < seconds {
                throw TLSMaterialError("\(flag) \(path) holds a certificate that expired at \(Date(timeIntervalSince1970: TimeInterval(notAfter)))")
            }
            let notBefore = Int(certificate.notValidBefore)
            if notBefore > seconds {
                throw TLSMaterialError("\(flag) \(path) holds a certificate not valid before \(Date(timeIntervalSince1970: TimeInterval(notBefore)))")
            }
        }
        return certificates
    }

    /// A listening side: presents our certificate; with `requireClientCertificate` the peer must
    /// present one the CA signed (no hostname check: the cluster's own CA signing it is what
    /// makes a host a member).
    public func serverConfiguration(requireClientCertificate: Bool) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.trustRoots = .certificates(trustRoots)
        configuration.certificateVerification = requireClientCertificate ? .noHostnameVerification : .none
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }

    /// A client port with `--client-tls`: presents our certificate and requires a client
    /// certificate signed by the `--client-ca` CA when given, else by the `--tls-ca` CA.
    public func clientPortConfiguration() -> TLSConfiguration {
        var configuration = serverConfiguration(requireClientCertificate: true)
        if let clientTrustRoots { configuration.trustRoots = .certificates(clientTrustRoots) }
        return configuration
    }

    /// A connecting host: presents our certificate and verifies the peer's against the CA.
    public func clientConfiguration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateChain = certificateChain.map { .certificate($0) }
        configuration.privateKey = .privateKey(privateKey)
        configuration.trustRoots = .certificates(trustRoots)
        configuration.certificateVerification = .noHostnameVerification
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }
}
