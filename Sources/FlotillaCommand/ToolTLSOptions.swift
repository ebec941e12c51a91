import ArgumentParser
import FlotillaTLS
import NIOSSL

/// `--tls-ca`, `--tls-cert` and `--tls-key` of the tools that connect to a host's client port
/// (`bench`, `status`, `export`): with them the tool speaks TLS to `--client-tls` hosts.
struct ToolTLSOptions: ParsableArguments {
    @Option(name: .customLong("tls-ca"), help: ArgumentHelp("Connect with TLS, verifying the host's certificate against this PEM CA (not its name).", valueName: "file"))
    var ca: String?

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM client certificate to present (with --tls-key; hosts with --client-tls require one).", valueName: "file"))
    var certificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "file"))
    var key: String?

    func validate() throws {
        do {
            _ = try ClientTLSFiles.fromFlags(ca: ca, certificate: certificate, key: key)
        } catch let error as TLSMaterialError {
            throw ValidationError(error.description)
        }
    }

    /// The client context, or nil without the flags; a refusal naming the file that cannot be used.
    func context() throws -> NIOSSLContext? {
        try ClientTLSFiles.fromFlags(ca: ca, certificate: certificate, key: key)?.makeContext()
    }
}
