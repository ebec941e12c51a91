import Dispatch
import FlotillaEventLoop
@testable import FlotillaServer
import NIOCore
import NIOEmbedded
import XCTest

/// `flotilla bench --direct` against pretend hosts that count what they would have relayed,
/// and the opt-in leader hint of the line protocol's connection handler.
final class DirectLoadTests: XCTestCase {
    /// Two hosts, sixteen shards led alternately by each.
    func startCluster() throws -> (FakeRoutingCluster, [ClientProtocolServer]) {
        let cluster = FakeRoutingCluster(leaders: (0..<16).map { UInt64($0 % 2 + 1) })
        var servers: [ClientProtocolServer] = []
        for node in [UInt64(1), 2] {
            let server = try ClientProtocolServer(configuration: .init(host: "127.0.0.1", port: 0), handler: cluster.handler(node: node))
            servers.append(server)
            cluster.state.withLock { $0.ports[node] = server.port! }
        }
        return (cluster, servers)
    }

    func directOptions(_ servers: [ClientProtocolServer], operations: Int) -> BenchOptions {
        // Only the first host is given: the second is learned from ROUTES.
        var options = BenchOptions(addresses: [("127.0.0.1", servers[0].port!)])
        options.direct = true
        options.connections = 4
        options.pipelineDepth = 2
        options.threads = 2
        options.readFraction = 0.5
        options.operations = operations
        return options
    }

    func testEveryRequestGoesToItsLeadersHost() async throws {
        let (cluster, servers) = try startCluster()
        defer { for server in servers { server.shutdown() } }
        let result = try await runBench(directOptions(servers, operations: 2_000)) { _ in }
        XCTAssertEqual(result.operations, 2_000)
        XCTAssertEqual(result.errors, 0)
        XCTAssertEqual(result.hintedAnswers, 0)
        XCTAssertEqual(cluster.relayed, 0, "no request reached a host that does not lead its shard")
        XCTAssertEqual(cluster.served, 2_000)
        XCTAssertTrue(result.directLine.hasPrefix("direct: answers=2000 errors=0 hinted=0 route_refreshes="), result.directLine)
    }

    /// The plain bench through the same hosts relays about half of the requests: what the
    /// test above shows `--direct` saves.
    func testWithoutDirectRequestsAreRelayed() async throws {
        let (cluster, servers) = try startCluster()
        defer { for server in servers { server.shutdown() } }
        var options = directOptions(servers, operations: 2_000)
        options.direct = false
        let result = try await runBench(options) { _ in }
        XCTAssertEqual(result.errors, 0)
        XCTAssertGreaterThan(cluster.relayed, 500)
    }

    /// Every shard of host 1 moves to host 2 after 1,000 of 6,000 requests: the answers that
    /// host 1 now relays carry hints, the bench follows them, and nothing is lost or failed.
    func testALeadershipChangeIsFollowedFromTheHints() async throws {
        let (cluster, servers) = try startCluster()
        defer { for server in servers { server.shutdown() } }
        cluster.moveLeaders(after: 1_000, from: 1, to: 2)
        let result = try await runBench(directOptions(servers, operations: 6_000)) { _ in }
        XCTAssertEqual(result.operations, 6_000)
        XCTAssertEqual(result.errors, 0)
        XCTAssertGreaterThan(result.hintedAnswers, 0, "host 1's answers after the move said who leads")
        XCTAssertLessThan(cluster.relayed, 1_000, "the bench went to host 2 after the hints, instead of relaying the remaining 5,000")
    }

    /// Host 2 dies after 1,000 of 4,000 requests (it answers nothing more, then its server
    /// closes): what it had in flight counts as errors, at most the 8 requests the bench keeps
    /// in flight, and every other request is answered, by host 1 (which, on a real cluster,
    /// would relay host 2's shards to their new leaders); the run ends.
    func testALostHostCountsItsRequestsAndTheRestGoElsewhere() async throws {
        let (cluster, servers) = try startCluster()
        defer { servers[0].shutdown() }
        let second = servers[1]
        cluster.stop(2, after: 1_000) { DispatchQueue.global().async { second.shutdown() } }
        let result = try await runBench(directOptions(servers, operations: 4_000)) { _ in }
        XCTAssertEqual(result.operations + result.errors, 4_000, "every request answered or counted as an error")
        XCTAssertLessThanOrEqual(result.errors, 8, "only what was in flight on host 2 is lost")
        XCTAssertGreaterThanOrEqual(cluster.served(byNode: 1), 4_000 - 1_000 - 8, "host 1 took host 2's share")
    }

    func testDirectNeedsAHostThatAnswersRoutes() async throws {
        let server = try ClientProtocolServer(configuration: .init(host: "127.0.0.1", port: 0), handler: DictionaryHandler())
        defer { server.shutdown() }
        var options = BenchOptions(addresses: [("127.0.0.1", server.port!)])
        options.direct = true
        options.operations = 10
        do {
            _ = try await runBench(options) { _ in }
            XCTFail("--direct ran without routes")
        } catch let error as LoadGeneratorError {
            XCTAssertTrue(error.description.contains("ROUTES"), error.description)
        }
    }

    /// `HINTS ON` applies to the lines after it, `HINTS OFF` ends it, and a connection that never
    /// asks sees the usual answers.
    func testHintsAreOptInPerConnectionAndApplyFromTheNextLine() async throws {
        let cluster = FakeRoutingCluster(leaders: Array(repeating: 2, count: 16))
        let channel = NIOAsyncTestingChannel()
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandler(
                LineProtocolHandler(handler: cluster.handler(node: 1), inflightRequestsMax: 16, serverInflight: ServerInflight(maximum: 16),
                                    mailbox: EventLoopMailbox(eventLoop: channel.testingEventLoop)))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        try await channel.writeInbound(ByteBuffer(string: "PUT a 1\nHINTS ON\nPUT a 2\nGET a\nPING\nHINTS off\nGET a\nHINTS sideways\n"))
        var answers = ""
        while answers.filter({ $0 == "\n" }).count < 8 {
            var buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            answers += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        XCTAssertEqual(answers, "OK\nOK\nLEADER 2 OK\nLEADER 2 VALUE 2\nPONG\nOK\nVALUE 2\nERR BAD_REQUEST HINTS takes ON or OFF: HINTS ON|OFF\n")
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }
}
