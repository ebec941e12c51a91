import FlotillaTLS
import XCTest

/// The tools' TLS flags: `--tls-ca` alone or with `--tls-cert` and `--tls-key`, nothing for plain TCP.
final class ClientTLSFilesTests: XCTestCase {
    func testNoFlagIsPlainTCP() throws {
        XCTAssertNil(try ClientTLSFiles.fromFlags(ca: nil, certificate: nil, key: nil))
    }

    func testTheCAAloneOrWithACertificateAndKey() throws {
        XCTAssertEqual(try ClientTLSFiles.fromFlags(ca: "ca.pem", certificate: nil, key: nil), ClientTLSFiles(ca: "ca.pem"))
        XCTAssertEqual(try ClientTLSFiles.fromFlags(ca: "ca.pem", certificate: "c.pem", key: "k.pem"),
                       ClientTLSFiles(ca: "ca.pem", certificate: "c.pem", key: "k.pem"))
    }

    func testACertificateWithoutItsKeyOrWithoutTheCAIsRefused() {
        XCTAssertThrowsError(try ClientTLSFiles.fromFlags(ca: "ca.pem", certificate: "c.pem", key: nil)) {
            XCTAssertTrue("\($0)".contains("--tls-cert given without --tls-key"), "\($0)")
        }
        XCTAssertThrowsError(try ClientTLSFiles.fromFlags(ca: "ca.pem", certificate: nil, key: "k.pem")) {
            XCTAssertTrue("\($0)".contains("--tls-key given without --tls-cert"), "\($0)")
        }
        XCTAssertThrowsError(try ClientTLSFiles.fromFlags(ca: nil, certificate: "c.pem", key: "k.pem")) {
            XCTAssertTrue("\($0)".contains("need --tls-ca"), "\($0)")
        }
    }

    func testAMissingCAIsNamed() {
        XCTAssertThrowsError(try ClientTLSFiles(ca: "/nonexistent/ca.pem").makeContext()) {
            XCTAssertEqual("\($0)", "--tls-ca /nonexistent/ca.pem does not exist")
        }
    }
}
