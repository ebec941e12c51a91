import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `flotilla certs` checked by a TLS stack that is not ours: the real `openssl` CLI verifies the
/// chain, reads the names and usages, checks the keys, and the files' modes are read back with
/// stat (issue 15).
final class CertsTests: EndToEndTestCase {
    /// `openssl arguments...`, which must succeed; its stdout and stderr together.
    @discardableResult
    func runOpenSSL(_ arguments: [String]) throws -> String {
        let run = try runTool(try requireTool("openssl"), arguments, in: root, timeout: 30)
        try check(!run.timedOut && run.status == 0, "openssl \(arguments.joined(separator: " ")): \(run.text)")
        return run.stdout + run.stderr
    }

    /// The permission bits of `path`.
    func mode(_ path: String) throws -> mode_t {
        var status = stat()
        try check(stat(path, &status) == 0, "stat \(path): \(String(cString: strerror(errno)))")
        return status.st_mode & 0o7777
    }

    let names = ["ca.pem", "ca-key.pem", "host-1.pem", "host-1-key.pem", "host-2.pem", "host-2-key.pem",
                 "host-3.pem", "host-3-key.pem"]

    func testCertsWritesACAAndHostCertificatesThatOpenSSLAccepts() throws {
        let directory = "\(root)/certs"
        let run = try runTool(binary, ["certs", "--dir", directory, "--hosts", "3", "--address", "127.0.0.1",
                                       "--address", "localhost"], in: root, timeout: 60)
        try check(!run.timedOut && run.status == 0, "flotilla certs: \(run.text)")
        for name in names {
            try check(FileManager.default.fileExists(atPath: "\(directory)/\(name)"), "\(name) was not written: \(run.text)")
            try checkEqual(try mode("\(directory)/\(name)"), name.hasSuffix("-key.pem") ? 0o600 : 0o644, "the mode of \(name)")
        }

        let authority = try runOpenSSL(["x509", "-in", "\(directory)/ca.pem", "-noout", "-subject", "-ext", "basicConstraints,keyUsage"])
        try check(authority.contains("Flotilla development CA") && authority.contains("CA:TRUE")
                  && authority.contains("Certificate Sign") && authority.contains("CRL Sign"), "the CA: \(authority)")
        for number in 1...3 {
            let host = "\(directory)/host-\(number).pem"
            // Verified as a TLS server and as a TLS client: hosts dial each other with the same certificate.
            for purpose in ["sslserver", "sslclient"] {
                let verified = try runOpenSSL(["verify", "-purpose", purpose, "-CAfile", "\(directory)/ca.pem", host])
                try check(verified.contains("\(host): OK"), "openssl verify -purpose \(purpose) host-\(number): \(verified)")
            }
            let subject = try runOpenSSL(["x509", "-in", host, "-noout", "-subject"])
            try check(subject.contains("flotilla-host-\(number)"), "host-\(number)'s subject: \(subject)")
            let names = try runOpenSSL(["x509", "-in", host, "-noout", "-ext", "subjectAltName"])
            try check(names.contains("IP Address:127.0.0.1") && names.contains("DNS:localhost"), "host-\(number)'s SANs: \(names)")
            let usages = try runOpenSSL(["x509", "-in", host, "-noout", "-ext", "extendedKeyUsage"])
            try check(usages.contains("TLS Web Server Authentication") && usages.contains("TLS Web Client Authentication"),
                      "host-\(number)'s extended key usage: \(usages)")

            // The key is a valid EC key and belongs to the certificate.
            let key = "\(directory)/host-\(number)-key.pem"
            let checked = try runOpenSSL(["ec", "-in", key, "-check", "-noout"])
            try check(checked.contains("EC Key valid"), "openssl ec -check host-\(number)-key.pem: \(checked)")
            let certificateKey = try runTool(try requireTool("openssl"), ["x509", "-in", host, "-noout", "-pubkey"], in: root).stdout
            let privateKeyPublicHalf = try runTool(try requireTool("openssl"), ["pkey", "-in", key, "-pubout"], in: root).stdout
            try check(certificateKey.contains("BEGIN PUBLIC KEY") && certificateKey == privateKeyPublicHalf,
                      "host-\(number)'s certificate and key do not match:\n\(certificateKey)\n\(privateKeyPublicHalf)")
        }
        let authorityKey = try runTool(try requireTool("openssl"), ["x509", "-in", "\(directory)/ca.pem", "-noout", "-pubkey"], in: root).stdout
        let authorityPrivateKey = try runTool(try requireTool("openssl"), ["pkey", "-in", "\(directory)/ca-key.pem", "-pubout"], in: root).stdout
        try check(authorityKey.contains("BEGIN PUBLIC KEY") && authorityKey == authorityPrivateKey, "the CA's certificate and key do not match")

        // A second run without --force is refused, names the file, and changes nothing.
        let before = try names.map { try String(contentsOfFile: "\(directory)/\($0)", encoding: .utf8) }
        let again = try runTool(binary, ["certs", "--dir", directory, "--hosts", "3"], in: root, timeout: 60)
        try check(!again.timedOut && again.status != 0, "a second run without --force should be refused: \(again.text)")
        try check(again.stderr.contains("\(directory)/ca.pem") && again.stderr.contains("--force"),
                  "the refusal should name the file and the flag: \(again.text)")
        let after = try names.map { try String(contentsOfFile: "\(directory)/\($0)", encoding: .utf8) }
        try check(before == after, "a refused run changed the files")

        // With --force the files are replaced, with the same modes, by a new CA the old hosts do not chain to.
        let forced = try runTool(binary, ["certs", "--dir", directory, "--hosts", "3", "--force"], in: root, timeout: 60)
        try check(!forced.timedOut && forced.status == 0, "flotilla certs --force: \(forced.text)")
        let replaced = try names.map { try String(contentsOfFile: "\(directory)/\($0)", encoding: .utf8) }
        for (index, name) in names.enumerated() {
            try check(replaced[index] != before[index], "\(name) was not replaced by --force")
            try checkEqual(try mode("\(directory)/\(name)"), name.hasSuffix("-key.pem") ? 0o600 : 0o644, "the mode of \(name) after --force")
        }
        let oldHost = "\(root)/old-host-1.pem"
        try before[2].write(toFile: oldHost, atomically: true, encoding: .utf8)
        let stranger = try runTool(try requireTool("openssl"), ["verify", "-CAfile", "\(directory)/ca.pem", oldHost], in: root)
        try check(stranger.status != 0, "a host certificate of the replaced CA verified against the new one: \(stranger.text)")
    }

    func testClientCertificatesVerifyAsTLSClientsOnly() throws {
        let directory = "\(root)/certs"
        let run = try runTool(binary, ["certs", "--dir", directory, "--hosts", "1", "--clients", "2"], in: root, timeout: 60)
        try check(!run.timedOut && run.status == 0, "flotilla certs --clients 2: \(run.text)")
        for name in ["client-1.pem", "client-1-key.pem", "client-2.pem", "client-2-key.pem"] {
            try checkEqual(try mode("\(directory)/\(name)"), name.hasSuffix("-key.pem") ? 0o600 : 0o644, "the mode of \(name)")
        }
        for number in 1...2 {
            let client = "\(directory)/client-\(number).pem"
            let verified = try runOpenSSL(["verify", "-purpose", "sslclient", "-CAfile", "\(directory)/ca.pem", client])
            try check(verified.contains("\(client): OK"), "openssl verify -purpose sslclient client-\(number): \(verified)")
            // Not a TLS server: the raft port's rule (serverAuth) refuses it as a member.
            let asServer = try runTool(try requireTool("openssl"), ["verify", "-purpose", "sslserver", "-CAfile", "\(directory)/ca.pem", client], in: root)
            try check(asServer.status != 0, "client-\(number) verified as a TLS server: \(asServer.text)")
            let usages = try runOpenSSL(["x509", "-in", client, "-noout", "-subject", "-ext", "extendedKeyUsage"])
            try check(usages.contains("flotilla-client-\(number)") && usages.contains("TLS Web Client Authentication")
                      && !usages.contains("TLS Web Server Authentication"), "client-\(number)'s subject and usage: \(usages)")
            let certificateKey = try runTool(try requireTool("openssl"), ["x509", "-in", client, "-noout", "-pubkey"], in: root).stdout
            let privateKeyPublicHalf = try runTool(try requireTool("openssl"), ["pkey", "-in", "\(directory)/client-\(number)-key.pem", "-pubout"],
                                                   in: root).stdout
            try check(certificateKey.contains("BEGIN PUBLIC KEY") && certificateKey == privateKeyPublicHalf, "client-\(number)'s key does not match")
        }
        // A CA of clients only: --hosts 0 with --clients.
        let clientsOnly = try runTool(binary, ["certs", "--dir", "\(root)/clients", "--hosts", "0", "--clients", "1"], in: root, timeout: 60)
        try check(!clientsOnly.timedOut && clientsOnly.status == 0, "flotilla certs --hosts 0 --clients 1: \(clientsOnly.text)")
        try check(FileManager.default.fileExists(atPath: "\(root)/clients/client-1.pem")
                  && !FileManager.default.fileExists(atPath: "\(root)/clients/host-1.pem"), "the files of a CA of clients only")
    }

    func testARefusedAddressWritesNothing() throws {
        let directory = "\(root)/refused"
        let run = try runTool(binary, ["certs", "--dir", directory, "--hosts", "1", "--address", "10.0.0.5:7000"], in: root)
        try check(!run.timedOut && run.status != 0 && run.stderr.contains("10.0.0.5:7000"), "an address with a port: \(run.text)")
        try check(!FileManager.default.fileExists(atPath: directory), "a refused run created \(directory)")
        let zero = try runTool(binary, ["certs", "--dir", directory, "--hosts", "0"], in: root)
        try check(!zero.timedOut && zero.status != 0 && zero.stderr.contains("--hosts"), "--hosts 0: \(zero.text)")
    }
}
