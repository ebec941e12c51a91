import Foundation
import NIOSSL

/// The files a tool (`flotilla bench`, `status`, `export`) connects to `--client-tls` ports
/// with: `--tls-ca` to verify the host, and `--tls-cert` with `--tls-key` to present, which a
/// host requires but a tool may leave out to see the refusal for itself.
public struct ClientTLSFiles: Sendable, Equatable {
    public var ca: String
    public var certificate: String?
    public var key: String?

    public init(ca: String, certificate: String? = nil, key: String? = nil) {
        self.ca = ca
        self.certificate = certificate
        self.key = key
    }

    /// Nil when no flag is given (plain TCP); a refusal for a certificate without its key (or
    /// the other way round), or either without `--tls-ca`.
    public static func fromFlags(ca: String?, certificate: String?, key: String?) throws -> ClientTLSFiles? {
        if ca == nil && certificate == nil && key == nil { return nil }
        guard (certificate == nil) == (key == nil) else {
            throw TLSMaterialError(certificate == nil ? "--tls-key given without --tls-cert: they go together"
                                                      : "--tls-cert given without --tls-key: they go together")
        }
        guard let ca else { throw TLSMaterialError("--tls-cert and --tls-key need --tls-ca, the CA that signed the host's certificate") }
        return ClientTLSFiles(ca: ca, certificate: certificate, key: key)
    }

    /// The client context: verifies the host's certificate against the CA without checking its
    /// name (as hosts verify each other: the CA's signature is what makes a host one of the
    /// cluster's), and presents the client certificate when there is one. Throws a
    /// `TLSMaterialError` naming the file.
    public func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try TLSMaterial.readCertificates(ca, flag: "--tls-ca", now: .now))
        configuration.certificateVerification = .noHostnameVerification
        configuration.minimumTLSVersion = .tlsv12
        if let certificate, let key {
            configuration.certificateChain = try TLSMaterial.readCertificates(certificate, flag: "--tls-cert", now: .now).map { .certificate($0) }
            let keyBytes = try TLSMaterial.readFile(key, flag: "--tls-key")
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: keyBytes, format: .pem))
            } catch {
                throw TLSMaterialError("--tls-key \(key) is not a PEM private key (\(error))")
            }
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            if let certificate, let key {
                throw TLSMaterialError("--tls-key \(key) does not match the certificate in \(certificate) (\(error))")
            }
            throw TLSMaterialError("cannot build a TLS context from --tls-ca \(ca): \(error)")
        }
    }
}
