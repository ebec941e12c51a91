import NIOSSL
import X509

/// What makes a certificate a member credential on the raft port and the links, beyond the CA's
/// signature: its extended key usage must allow serverAuth.
///
/// One CA may sign both host and client certificates (`--client-tls` without `--client-ca`), so
/// the signature alone cannot tell them apart. Every host serves its raft port, so a host's
/// certificate allows serverAuth (`CertificateChainCheck` refuses one that does not at start); a
/// client certificate limited to clientAuth (as `flotilla certs --clients` writes) therefore
/// opens the client ports but can neither join nor send frames. A certificate without the
/// extension is unrestricted by X.509 (RFC 5280 4.2.1.12) and so allowed, as at start.
public enum MemberCertificateRule {
    /// Why a peer's certificate is not a member credential.
    public struct Refusal: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Nil when `certificate` may be a member's; otherwise why not.
    public static func refusal(of certificate: NIOSSLCertificate?) -> Refusal? {
        guard let certificate else { return Refusal(description: "the peer presented no certificate") }
        let parsed: Certificate
        do {
            parsed = try Certificate(derEncoded: try certificate.toDERBytes())
        } catch {
            return Refusal(description: "the peer's certificate cannot be parsed as X.509 (\(error))")
        }
        let usage: ExtendedKeyUsage?
        do {
            usage = try parsed.extensions.extendedKeyUsage
        } catch {
            return Refusal(description: "the peer's certificate (\(parsed.subject)) has an unreadable extended key usage (\(error))")
        }
        guard let usage else { return nil }
        guard usage.contains(.serverAuth) else {
            return Refusal(description: "the peer's certificate (\(parsed.subject)) lacks the extended key usage serverAuth: it is a client certificate, not a member's")
        }
        return nil
    }
}
