import FlotillaCertificates
import FlotillaTLS
import Foundation
import NIOSSL
import XCTest

/// The raft port's rule: a certificate whose extended key usage lacks serverAuth (a client
/// certificate) is not a member credential, whoever signed it.
final class MemberCertificateRuleTests: XCTestCase {
    func certificate(_ issued: IssuedCertificate) throws -> NIOSSLCertificate {
        try NIOSSLCertificate(bytes: Array(try issued.certificatePEM().utf8), format: .pem)
    }

    func testAHostCertificateIsAMemberCredential() throws {
        let authority = try DevelopmentCertificateAuthority()
        let host = try authority.issueHostCertificate(number: 1, addresses: [try HostAddress(parsing: "127.0.0.1")])
        XCTAssertNil(MemberCertificateRule.refusal(of: try certificate(host)))
    }

    func testAClientCertificateOfTheSameAuthorityIsRefusedForLackingServerAuth() throws {
        let authority = try DevelopmentCertificateAuthority()
        let client = try authority.issueClientCertificate(number: 1)
        let refusal = try XCTUnwrap(MemberCertificateRule.refusal(of: try certificate(client)))
        XCTAssertTrue(refusal.description.contains("serverAuth"), refusal.description)
        XCTAssertTrue(refusal.description.contains("flotilla-client-1"), refusal.description)
    }

    func testACertificateWithoutExtendedKeyUsageIsUnrestricted() throws {
        // The development CA's own certificate carries no extended key usage.
        let authority = try DevelopmentCertificateAuthority()
        XCTAssertNil(MemberCertificateRule.refusal(of: try certificate(authority.authority)))
    }

    func testNoCertificateIsRefused() {
        XCTAssertEqual(MemberCertificateRule.refusal(of: nil)?.description, "the peer presented no certificate")
    }
}
