import Crypto
import FlotillaCertificates
import Foundation
import SwiftASN1
import X509
import XCTest

/// What a development CA and its host certificates must carry for the hosts' mutual TLS: a CA
/// that is a CA, host certificates that chain to it, serve and dial with one certificate, name
/// exactly the addresses given, and match their keys.
final class DevelopmentCertificateAuthorityTests: XCTestCase {
    let now = Date()
    let addresses = try! ["127.0.0.1", "localhost", "::1", "db-1.example.com"].map(HostAddress.init(parsing:))

    func testTheAuthorityIsASelfSignedCertificateAuthority() throws {
        let authority = try DevelopmentCertificateAuthority(now: now)
        let certificate = authority.authority.certificate
        XCTAssertEqual(certificate.subject, try DistinguishedName { CommonName("Flotilla development CA") })
        XCTAssertEqual(certificate.issuer, certificate.subject)
        XCTAssertTrue(certificate.publicKey.isValidSignature(certificate.signature, for: certificate))
        guard case .isCertificateAuthority = try certificate.extensions.basicConstraints else {
            return XCTFail("the CA's basic constraints: \(String(describing: try certificate.extensions.basicConstraints))")
        }
        let keyUsage = try XCTUnwrap(try certificate.extensions.keyUsage)
        XCTAssertTrue(keyUsage.keyCertSign)
        XCTAssertTrue(keyUsage.cRLSign)
        XCTAssertFalse(keyUsage.digitalSignature)
        XCTAssertEqual(certificate.extensions[oid: .X509ExtensionID.basicConstraints]?.critical, true)
        XCTAssertEqual(certificate.extensions[oid: .X509ExtensionID.keyUsage]?.critical, true)
        XCTAssertEqual(certificate.notValidAfter.timeIntervalSince(now), 3650 * 86_400, accuracy: 1)
        XCTAssertLessThanOrEqual(certificate.notValidBefore, now)
        XCTAssertEqual(authority.authority.privateKey.publicKey, certificate.publicKey)
    }

    func testEveryHostCertificateVerifiesAgainstTheAuthority() async throws {
        let authority = try DevelopmentCertificateAuthority(now: now)
        for number in 1...3 {
            let host = try authority.issueHostCertificate(number: number, addresses: addresses, now: now)
            XCTAssertEqual(host.certificate.issuer, authority.authority.certificate.subject)
            XCTAssertEqual(host.certificate.subject, try DistinguishedName { CommonName("flotilla-host-\(number)") })
            XCTAssertTrue(authority.authority.certificate.publicKey.isValidSignature(host.certificate.signature, for: host.certificate))
            var verifier = Verifier(rootCertificates: CertificateStore([authority.authority.certificate])) {
                RFC5280Policy()
            }
            let result = await verifier.validate(leaf: host.certificate, intermediates: CertificateStore())
            guard case .validCertificate(let chain) = result else { return XCTFail("host \(number): \(result)") }
            XCTAssertEqual(Array(chain), [host.certificate, authority.authority.certificate])
            for (name, ip) in [("localhost", nil), (nil, "127.0.0.1"), (nil, "::1"), ("db-1.example.com", nil)] as [(String?, String?)] {
                var identity = Verifier(rootCertificates: CertificateStore([authority.authority.certificate])) {
                    RFC5280Policy()
                    ServerIdentityPolicy(serverHostname: name, serverIP: ip)
                }
                let matched = await identity.validate(leaf: host.certificate, intermediates: CertificateStore())
                guard case .validCertificate = matched else { return XCTFail("host \(number) as \(name ?? ip ?? ""): \(matched)") }
            }
        }
    }

    func testAHostCertificateOfAnotherAuthorityDoesNotVerify() async throws {
        let authority = try DevelopmentCertificateAuthority(now: now)
        let stranger = try DevelopmentCertificateAuthority(now: now).issueHostCertificate(number: 1, addresses: addresses, now: now)
        var verifier = Verifier(rootCertificates: CertificateStore([authority.authority.certificate])) {
            RFC5280Policy()
        }
        let result = await verifier.validate(leaf: stranger.certificate, intermediates: CertificateStore())
        guard case .couldNotValidate = result else { return XCTFail("a stranger's certificate verified: \(result)") }
        XCTAssertFalse(authority.authority.certificate.publicKey.isValidSignature(stranger.certificate.signature, for: stranger.certificate))
    }

    func testSubjectAlternativeNamesAreExactlyTheAddressesGiven() throws {
        let authority = try DevelopmentCertificateAuthority(now: now)
        let host = try authority.issueHostCertificate(number: 1, addresses: addresses + [addresses[1]], now: now)
        let names = try XCTUnwrap(try host.certificate.extensions.subjectAlternativeNames)
        XCTAssertEqual(Array(names), [
            .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
            .dnsName("localhost"),
            .ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))),
            .dnsName("db-1.example.com"),
        ])
        let defaults = try authority.issueHostCertificate(
            number: 2, addresses: try HostAddress.developmentDefaults.map(HostAddress.init(parsing:)), now: now)
        XCTAssertEqual(Array(try XCTUnwrap(try defaults.certificate.extensions.subjectAlternativeNames)),
                       [.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])), .dnsName("localhost")])
    }

    func testHostCertificatesServeAndDialWithOneCertificate() throws {
        let host = try DevelopmentCertificateAuthority(now: now).issueHostCertificate(number: 1, addresses: addresses, now: now)
        let usages = try XCTUnwrap(try host.certificate.extensions.extendedKeyUsage)
        XCTAssertEqual(Set(usages), [.serverAuth, .clientAuth])
        let keyUsage = try XCTUnwrap(try host.certificate.extensions.keyUsage)
        XCTAssertTrue(keyUsage.digitalSignature)
        XCTAssertFalse(keyUsage.keyCertSign)
        XCTAssertEqual(try host.certificate.extensions.basicConstraints, .notCertificateAuthority)
    }

    func testClientCertificatesAuthenticateClientsOnlyAndChainToTheAuthority() async throws {
        let authority = try DevelopmentCertificateAuthority(now: now)
        let client = try authority.issueClientCertificate(number: 2, now: now)
        XCTAssertEqual(Set(try XCTUnwrap(try client.certificate.extensions.extendedKeyUsage)), [.clientAuth])
        XCTAssertEqual(client.certificate.subject, try DistinguishedName { CommonName("flotilla-client-2") })
        XCTAssertEqual(try client.certificate.extensions.basicConstraints, .notCertificateAuthority)
        XCTAssertNil(try client.certificate.extensions.subjectAlternativeNames)
        XCTAssertEqual(client.privateKey.publicKey, client.certificate.publicKey)
        var verifier = Verifier(rootCertificates: CertificateStore([authority.authority.certificate])) {
            RFC5280Policy()
        }
        guard case .validCertificate = await verifier.validate(leaf: client.certificate, intermediates: CertificateStore()) else {
            return XCTFail("a client certificate does not chain to its authority")
        }
        XCTAssertThrowsError(try authority.issueClientCertificate(number: 0, now: now))
    }

    func testASetMayHoldClientsAfterTheHostsOrClientsOnly() throws {
        let authority = try DevelopmentCertificateAuthority(now: now)
        let files = try authority.files(hostCount: 1, clientCount: 2, addresses: addresses, now: now)
        XCTAssertEqual(files.map(\.name), ["ca.pem", "ca-key.pem", "host-1.pem", "host-1-key.pem",
                                           "client-1.pem", "client-1-key.pem", "client-2.pem", "client-2-key.pem"])
        XCTAssertEqual(files.map(\.name), DevelopmentCertificateFile.names(hostCount: 1, clientCount: 2))
        XCTAssertEqual(files.filter(\.isPrivateKey).map(\.name), ["ca-key.pem", "host-1-key.pem", "client-1-key.pem", "client-2-key.pem"])
        let clientsOnly = try authority.files(hostCount: 0, clientCount: 1, addresses: addresses, now: now)
        XCTAssertEqual(clientsOnly.map(\.name), ["ca.pem", "ca-key.pem", "client-1.pem", "client-1-key.pem"])
        XCTAssertThrowsError(try authority.files(hostCount: 0, clientCount: 0, addresses: addresses, now: now))
    }

    func testEachKeyMatchesItsCertificateThroughPEM() throws {
        let files = try DevelopmentCertificateAuthority(now: now).files(hostCount: 3, addresses: addresses, now: now)
        let byName = Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0) })
        XCTAssertEqual(files.map(\.name), DevelopmentCertificateFile.names(hostCount: 3))
        XCTAssertEqual(files.map(\.name), ["ca.pem", "ca-key.pem", "host-1.pem", "host-1-key.pem",
                                           "host-2.pem", "host-2-key.pem", "host-3.pem", "host-3-key.pem"])
        var serials = Set<Certificate.SerialNumber>()
        var keys = Set<Certificate.PublicKey>()
        for prefix in ["ca", "host-1", "host-2", "host-3"] {
            let certificateFile = try XCTUnwrap(byName["\(prefix).pem"])
            let keyFile = try XCTUnwrap(byName["\(prefix)-key.pem"])
            XCTAssertTrue(certificateFile.contents.hasPrefix("-----BEGIN CERTIFICATE-----\n"))
            XCTAssertTrue(keyFile.contents.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
            XCTAssertEqual(certificateFile.permissions, 0o644)
            XCTAssertEqual(keyFile.permissions, 0o600)
            let certificate = try Certificate(pemEncoded: certificateFile.contents)
            let key = try Certificate.PrivateKey(pemEncoded: keyFile.contents)
            XCTAssertEqual(key.publicKey, certificate.publicKey, prefix)
            XCTAssertNotNil(try P256.Signing.PrivateKey(pemRepresentation: keyFile.contents), prefix)
            serials.insert(certificate.serialNumber)
            keys.insert(certificate.publicKey)
        }
        XCTAssertEqual(serials.count, 4, "serial numbers are random, so never repeated")
        XCTAssertEqual(keys.count, 4, "every host has its own key")
    }

    func testHostValidityFollowsTheDaysGiven() throws {
        let authority = try DevelopmentCertificateAuthority(now: now)
        let yearly = try authority.issueHostCertificate(number: 1, addresses: addresses, now: now)
        XCTAssertEqual(yearly.certificate.notValidAfter.timeIntervalSince(now), 365 * 86_400, accuracy: 1)
        let weekly = try authority.issueHostCertificate(number: 1, addresses: addresses, now: now, validityDays: 7)
        XCTAssertEqual(weekly.certificate.notValidAfter.timeIntervalSince(now), 7 * 86_400, accuracy: 1)
        XCTAssertLessThanOrEqual(weekly.certificate.notValidBefore, now)
        XCTAssertThrowsError(try authority.issueHostCertificate(number: 1, addresses: addresses, now: now, validityDays: 0))
        XCTAssertThrowsError(try authority.issueHostCertificate(number: 0, addresses: addresses, now: now))
        XCTAssertThrowsError(try authority.issueHostCertificate(number: 1, addresses: [], now: now))
        XCTAssertThrowsError(try authority.files(hostCount: 0, addresses: addresses, now: now))
    }

    func testAddressesAreIPLiteralsOrHostNames() throws {
        XCTAssertEqual(try HostAddress(parsing: "127.0.0.1"), .ipAddress([127, 0, 0, 1]))
        XCTAssertEqual(try HostAddress(parsing: "10.1.2.3").description, "10.1.2.3")
        XCTAssertEqual(try HostAddress(parsing: "::1"), .ipAddress([UInt8](repeating: 0, count: 15) + [1]))
        XCTAssertEqual(try HostAddress(parsing: "fe80::1").description, "fe80::1")
        XCTAssertEqual(try HostAddress(parsing: "localhost"), .dnsName("localhost"))
        XCTAssertEqual(try HostAddress(parsing: "db-1.example.com"), .dnsName("db-1.example.com"))
        for refused in ["", "127.0.0.1:7000", "db 1", "-db", "db-", "a..b", "ex@mple.com", "[::1]", String(repeating: "a", count: 64)] {
            XCTAssertThrowsError(try HostAddress(parsing: refused), refused) { error in
                XCTAssertEqual(error as? DevelopmentCertificateError, .invalidAddress(refused))
                XCTAssertTrue("\(error)".contains("'\(refused)'"))
            }
        }
    }
}
