import NIOSSL
import Synchronization

/// The contexts built from one `TLSMaterial`: the raft port's (requires a client certificate
/// signed by the CA), the outbound links' and snapshot connections', and the client ports'.
public struct TLSContextSet: Sendable {
    public let material: TLSMaterial
    public let peerServer: NIOSSLContext
    public let peerClient: NIOSSLContext
    public let clientServer: NIOSSLContext

    public init(material: TLSMaterial) throws {
        self.material = material
        peerServer = try NIOSSLContext(configuration: material.serverConfiguration(requireClientCertificate: true))
        peerClient = try NIOSSLContext(configuration: material.clientConfiguration())
        // Clients must present a certificate the CA signed too (`--tls-ca` is always given
        // with `--client-tls`).
        clientServer = try NIOSSLContext(configuration: material.serverConfiguration(requireClientCertificate: true))
    }
}

/// The current contexts, swapped whole by `reload` (SIGHUP): each new connection takes the
/// set current when it is accepted or made; connections already open keep theirs.
public final class TLSContexts: Sendable {
    public let files: TLSFiles
    private let current: Mutex<TLSContextSet>

    /// Loads and checks the files; throws a `TLSMaterialError` naming the file.
    public init(files: TLSFiles) throws {
        self.files = files
        current = Mutex(try Self.build(files))
    }

    public var contexts: TLSContextSet { current.withLock { $0 } }

    /// Reads the three files again; on success new connections use the new contexts, on
    /// failure the old ones stay and the error (naming the file) is thrown.
    @discardableResult
    public func reload() throws -> TLSMaterial {
        let fresh = try Self.build(files)
        current.withLock { $0 = fresh }
        return fresh.material
    }

    static func build(_ files: TLSFiles) throws -> TLSContextSet {
        let material = try TLSMaterial.load(files)
        do {
            return try TLSContextSet(material: material)
        } catch {
            throw TLSMaterialError("cannot build TLS contexts from \(files.certificate), \(files.key), \(files.ca): \(error)")
        }
    }
}
