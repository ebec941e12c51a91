import ArgumentParser
import FlotillaCertificates
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `flotilla certs`: writes a development CA, a certificate and key per host and, with `--clients`,
/// per client (clientAuth only: a client certificate is not a member credential), so a TLS cluster
/// can be tried on one machine or a test rig without an operator's PKI. Production clusters bring
/// their own CA. The certificate logic lives in `FlotillaCertificates`; this command parses flags
/// and writes files, keys readable by their owner only from the moment they exist.
struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a development CA and one TLS certificate and key per host and per client (for development and testing).",
        discussion: """
            Writes ca.pem, ca-key.pem, host-<n>.pem, host-<n>-key.pem for n = 1...N and, with \
            --clients M, client-<m>.pem, client-<m>-key.pem for m = 1...M into the directory. Host \
            certificates allow serverAuth and clientAuth; client certificates clientAuth only, so the \
            raft port refuses them. Keys are created with mode 0600, certificates 0644. Existing files \
            are not overwritten unless --force is given. Production clusters should use their own PKI.
            """)

    @Option(name: .customLong("dir"), help: "Directory to write the files into (created if missing).")
    var directory: String

    @Option(name: .customLong("hosts"), help: "Number of host certificates to issue (host-1 ... host-N; 0 allowed with --clients, for a CA of clients only).")
    var hostCount: Int

    @Option(name: .customLong("clients"), help: "Number of client certificates to issue (client-1 ... client-M), clientAuth only.")
    var clientCount = 0

    @Option(name: .customLong("address"),
            help: ArgumentHelp("An address the hosts are reached at, as a subject alternative name: an IP literal becomes an IP SAN, anything else a DNS SAN. Repeat for several; default 127.0.0.1 and localhost.",
                               valueName: "host"))
    var addresses: [String] = []

    @Option(name: .customLong("days"), help: "Days each host and client certificate is valid (the CA is valid for 10 years).")
    var validityDays = DevelopmentCertificateAuthority.defaultHostValidityDays

    @Flag(name: .customLong("force"), help: "Overwrite files that already exist.")
    var force = false

    func validate() throws {
        guard hostCount >= 1 || (hostCount == 0 && clientCount >= 1) else {
            throw ValidationError("--hosts must be at least 1 (or 0 with --clients), got \(hostCount)")
        }
        guard hostCount <= 1000 else { throw ValidationError("--hosts must be at most 1000, got \(hostCount)") }
        guard (0...1000).contains(clientCount) else { throw ValidationError("--clients must be between 0 and 1000, got \(clientCount)") }
        guard (1...36_500).contains(validityDays) else {
            throw ValidationError("--days must be between 1 and 36500, got \(validityDays)")
        }
        for address in addresses {
            do { _ = try HostAddress(parsing: address) } catch { throw ValidationError("--address: \(error)") }
        }
    }

    func run() throws {
        let hostAddresses = try (addresses.isEmpty ? HostAddress.developmentDefaults : addresses).map(HostAddress.init(parsing:))
        let directoryURL = URL(fileURLWithPath: directory)
        // Every refusal comes before the first write, so a refused run changes nothing.
        if !force {
            for name in DevelopmentCertificateFile.names(hostCount: hostCount, clientCount: clientCount) {
                let path = directoryURL.appendingPathComponent(name).path
                if Self.exists(path) {
                    fail("\(path) already exists; pass --force to overwrite it")
                }
            }
        }
        let authority = try DevelopmentCertificateAuthority()
        let files = try authority.files(hostCount: hostCount, clientCount: clientCount, addresses: hostAddresses, hostValidityDays: validityDays)
        do {
            try FileManager.default.createDirectory(at: directoryURL, withIntermediateDirectories: true)
        } catch {
            fail("cannot create \(directory): \(error.localizedDescription)")
        }
        for file in files {
            let path = directoryURL.appendingPathComponent(file.name).path
            if let problem = Self.create(file, at: path, replacing: force) { fail(problem) }
            print(path)
        }
    }

    private func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("flotilla certs: \(message)\n".utf8))
        Certs.exit(withError: ExitCode(1))
    }

    /// Whether anything (a file, a directory, a dangling link) sits at `path`.
    private static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// Creates `path` with the file's permissions and writes its contents; a message naming the
    /// file on failure. The file is created with its mode (`O_EXCL`, then `fchmod` before the
    /// first byte, so the umask cannot widen or narrow it): a key is never readable by others,
    /// not even for an instant. Replacing removes the old file first rather than truncating it,
    /// since a truncated file keeps its old, possibly wider, mode.
    private static func create(_ file: DevelopmentCertificateFile, at path: String, replacing: Bool) -> String? {
        if replacing && unlink(path) != 0 && errno != ENOENT {
            return "cannot replace \(path): \(String(cString: strerror(errno)))"
        }
        let mode = mode_t(file.permissions)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            if errno == EEXIST { return "\(path) already exists; pass --force to overwrite it" }
            return "cannot create \(path): \(String(cString: strerror(errno)))"
        }
        var problem: String?
        if fchmod(descriptor, mode) != 0 {
            problem = "cannot set the mode of \(path): \(String(cString: strerror(errno)))"
        } else {
            var bytes = ArraySlice(Array(file.contents.utf8))
            while problem == nil && !bytes.isEmpty {
                let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    problem = "cannot write \(path): \(String(cString: strerror(errno)))"
                } else {
                    bytes = bytes.dropFirst(written)
                }
            }
            if problem == nil && fsync(descriptor) != 0 {
                problem = "cannot sync \(path): \(String(cString: strerror(errno)))"
            }
        }
        close(descriptor)
        if problem != nil { unlink(path) }
        return problem
    }
}
