import SwiftASN1
import X509
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One address a host is reached at, as it goes into a certificate's subject alternative names.
///
/// TLS clients match an IP literal only against an IP SAN and a name only against a DNS SAN, so
/// the kind is decided here once, from the text the operator typed: `127.0.0.1` and `::1` become
/// IP SANs, `localhost` and `db-1.example.com` DNS SANs. Anything that is neither (a port
/// attached, a space, an empty label) is refused rather than written into a certificate that no
/// client would ever match.
public enum HostAddress: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 (4 bytes) or IPv6 (16 bytes) address in network order.
    case ipAddress([UInt8])
    /// A host name, as typed.
    case dnsName(String)

    /// The addresses `flotilla certs` uses when none are given: the loopback a development cluster runs on.
    public static let developmentDefaults: [String] = ["127.0.0.1", "localhost"]

    /// Parses an operator's `--address` value.
    public init(parsing text: String) throws {
        if let bytes = Self.ipBytes(text) {
            self = .ipAddress(bytes)
        } else if Self.isHostName(text) {
            self = .dnsName(text)
        } else {
            throw DevelopmentCertificateError.invalidAddress(text)
        }
    }

    /// The subject alternative name this address becomes.
    public var generalName: GeneralName {
        switch self {
        case .ipAddress(let bytes): return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))
        case .dnsName(let name): return .dnsName(name)
        }
    }

    public var description: String {
        switch self {
        case .ipAddress(let bytes): return Self.render(bytes)
        case .dnsName(let name): return name
        }
    }

    /// The bytes of an IPv4 or IPv6 literal, or nil when `text` is not one (the C library's own
    /// parser, so every form `inet_pton` accepts is accepted).
    private static func ipBytes(_ text: String) -> [UInt8]? {
        var four = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &four) == 1 { return four }
        var sixteen = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, text, &sixteen) == 1 { return sixteen }
        return nil
    }

    /// A DNS name by RFC 1123: dot-separated labels of letters, digits and hyphens, none empty,
    /// none starting or ending with a hyphen, at most 63 bytes each and 253 in all.
    private static func isHostName(_ text: String) -> Bool {
        let name = text.hasSuffix(".") ? String(text.dropLast()) : text
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63, label.first != "-", label.last != "-" else { return false }
            let allowed = label.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-")
            }
            guard allowed else { return false }
        }
        return true
    }

    /// The address in its usual text form, for messages.
    private static func render(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard inet_ntop(family, bytes, &buffer, socklen_t(buffer.count)) != nil else {
            return bytes.map(String.init).joined(separator: ".")
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
