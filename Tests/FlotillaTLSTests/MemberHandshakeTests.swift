import FlotillaCertificates
import FlotillaTLS
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import XCTest

/// `TLSHandshakeWatcher(requiresMemberCertificate:)` on a real loopback connection, as the raft
/// port has it: a client certificate the cluster's CA signed completes the TLS handshake, is
/// then refused, and not one byte it sent reaches the handler behind the watcher; a host
/// certificate is served.
final class MemberHandshakeTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Writes the development set's files and returns their paths by name.
    func write(_ files: [DevelopmentCertificateFile]) throws -> [String: String] {
        var paths: [String: String] = [:]
        for file in files {
            let path = "\(directory)/\(file.name)"
            try file.contents.write(toFile: path, atomically: true, encoding: .utf8)
            paths[file.name] = path
        }
        return paths
    }

    /// What the server side saw of one connection.
    final class Outcome: Sendable {
        let refusals = Mutex<[String]>([])
        let completions = Atomic<Int>(0)
        let bytesPassed = Atomic<Int>(0)
        let closed = Atomic<Bool>(false)
    }

    /// Counts what the watcher lets through.
    final class Sink: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let outcome: Outcome
        init(outcome: Outcome) { self.outcome = outcome }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            outcome.bytesPassed.add(unwrapInboundIn(data).readableBytes, ordering: .relaxed)
        }
    }

    /// Serves `contexts.peerServer` behind a member-requiring watcher, connects with `client`,
    /// writes a few bytes once its handshake is done, and returns what the server saw once the
    /// server closed the connection or answered with an echo of one byte.
    func connect(server contexts: TLSContexts, client: NIOSSLContext) throws -> Outcome {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let outcome = Outcome()
        let listener = try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.closeFuture.whenComplete { _ in outcome.closed.store(true, ordering: .releasing) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: contexts.contexts.peerServer))
                    try channel.pipeline.syncOperations.addHandler(TLSHandshakeWatcher(
                        requiresMemberCertificate: true, completed: { outcome.completions.add(1, ordering: .relaxed) }
                    ) { _, error in outcome.refusals.withLock { $0.append("\(error)") } })
                    try channel.pipeline.syncOperations.addHandler(Sink(outcome: outcome))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? listener.close().wait() }
        let handshook = group.next().makePromise(of: Void.self)
        let connection = try ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: client, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(TLSHandshakeWatcher(completed: { handshook.succeed() }) { _, error in
                        handshook.fail(error)
                    })
                }
            }
            .connect(host: "127.0.0.1", port: listener.localAddress!.port!).wait()
        defer { connection.close(promise: nil) }
        // A refusing server closes the connection right after its side of the handshake, so the
        // client's handshake or write may race with that close and fail: that is the refusal
        // (checked on the server's side by the caller), not an error of the test. A served
        // connection that failed here would pass no bytes, which the caller checks.
        if (try? handshook.futureResult.wait()) != nil {
            _ = try? connection.writeAndFlush(ByteBuffer(string: "frame bytes")).wait()
        }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !outcome.closed.load(ordering: .acquiring) && outcome.bytesPassed.load(ordering: .relaxed) == 0 {
            usleep(10_000)
        }
        return outcome
    }

    func testAClientCertificateIsRefusedBeforeAnyByteAndAHostCertificateIsServed() throws {
        let authority = try DevelopmentCertificateAuthority()
        let paths = try write(try authority.files(hostCount: 2, clientCount: 1, addresses: [try HostAddress(parsing: "127.0.0.1")]))
        let server = try TLSContexts(files: TLSFiles(certificate: paths["host-1.pem"]!, key: paths["host-1-key.pem"]!, ca: paths["ca.pem"]!))

        let client = try ClientTLSFiles(ca: paths["ca.pem"]!, certificate: paths["client-1.pem"]!, key: paths["client-1-key.pem"]!).makeContext()
        let refused = try connect(server: server, client: client)
        XCTAssertTrue(refused.closed.load(ordering: .acquiring), "the server kept a connection with a client certificate open")
        XCTAssertEqual(refused.bytesPassed.load(ordering: .relaxed), 0, "bytes of a refused peer were passed on")
        XCTAssertEqual(refused.completions.load(ordering: .relaxed), 0)
        let refusals = refused.refusals.withLock { $0 }
        XCTAssertEqual(refusals.count, 1, "\(refusals)")
        XCTAssertTrue(refusals.first?.contains("lacks the extended key usage serverAuth") ?? false, "\(refusals)")

        let host = try ClientTLSFiles(ca: paths["ca.pem"]!, certificate: paths["host-2.pem"]!, key: paths["host-2-key.pem"]!).makeContext()
        let served = try connect(server: server, client: host)
        XCTAssertEqual(served.bytesPassed.load(ordering: .relaxed), "frame bytes".utf8.count)
        XCTAssertEqual(served.completions.load(ordering: .relaxed), 1)
        XCTAssertEqual(served.refusals.withLock { $0 }, [])
    }

    func testTheClientPortsTrustTheClientCAWhenGiven() throws {
        let hosts = try DevelopmentCertificateAuthority()
        let paths = try write(try hosts.files(hostCount: 1, addresses: [try HostAddress(parsing: "127.0.0.1")]))
        let clientCA = "\(directory)/client-ca.pem"
        try (try DevelopmentCertificateAuthority().authority.certificatePEM()).write(toFile: clientCA, atomically: true, encoding: .utf8)
        let files = TLSFiles(certificate: paths["host-1.pem"]!, key: paths["host-1-key.pem"]!, ca: paths["ca.pem"]!, clientCA: clientCA)
        let material = try TLSMaterial.load(files)
        XCTAssertEqual(material.clientTrustRoots?.count, 1)
        XCTAssertNotEqual(material.clientTrustRoots, material.trustRoots)
        guard case .certificates(let roots) = material.clientPortConfiguration().trustRoots else { return XCTFail("no trust roots") }
        XCTAssertEqual(roots, material.clientTrustRoots)
        guard case .certificates(let peerRoots) = material.serverConfiguration(requireClientCertificate: true).trustRoots else { return XCTFail("no trust roots") }
        XCTAssertEqual(peerRoots, material.trustRoots, "the raft port must keep trusting the host CA only")

        var missing = files
        missing.clientCA = "\(directory)/missing.pem"
        XCTAssertThrowsError(try TLSContexts(files: missing)) {
            XCTAssertEqual("\($0)", "--client-ca \(self.directory)/missing.pem does not exist")
        }
    }
}
