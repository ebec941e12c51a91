import NIOSSL
import Synchronization

/// The contexts built from one `TLSMaterial`: the raft port's (requires a client certificate
/// signed by the CA), the outbound links' and snapshot connections', and the client ports'
/// (requires a client certificate signed by the `--client-ca` CA, or by the CA without one).
public struct TLSContextSet: Sendable {
    public let material: TLSMaterial
    public let peerServer: NIOSSLContext
    public let peerClient: NIOSSLContext
    public let clientServer: NIOSSLContext

    public init(material: TLSMaterial) throws {
        self.material = material
        peerServer = try NIOSSLContext(configuration: material.serverConfiguration(requireClientCertificate: true))
        peerClient = try NIOSSLContext(configuration: material.clientConfiguration())
        clientServer = try NIOSSLContext(configuration: material.clientPortConfiguration())
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

    /// Reads the files again (`--client-ca` too); on success new connections use the new contexts, on
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
            let names = [files.certificate, files.key, files.ca] + (files.clientCA.map { [$0] } ?? [])
            throw TLSMaterialError("cannot build TLS contexts from \(names.joined(separator: ", ")): \(error)")
        }
    }
}
