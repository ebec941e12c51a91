import FlotillaEventLoop
@testable import FlotillaServer
import NIOCore
import NIOEmbedded
import Synchronization
import XCTest

/// Administrative requests on one shard, pipelined on one connection, run in the order sent
/// (an `ADD-OBSERVER` then `PROMOTE` promotes the observer just added); on other shards, and
/// data requests, they run concurrently.
final class AdministrativeOrderingTests: XCTestCase {
    /// Records each request as the server hands it over, and holds its answer until the test
    /// releases it: the order of `handle` calls is the order the server started requests.
    final class RecordingHandler: ClientRequestHandler {
        let state = Mutex<(started: [ClientRequest], waiting: [(ClientRequest, @Sendable (ClientResponse) -> Void)])>(([], []))

        func handle(_ request: ClientRequest, completion: @escaping @Sendable (ClientResponse) -> Void) {
            state.withLock {
                $0.started.append(request)
                $0.waiting.append((request, completion))
            }
        }

        var started: [ClientRequest] { state.withLock { $0.started } }

        /// Answers the waiting `request` with `OK`.
        func release(_ request: ClientRequest) {
            let completion = state.withLock { state -> (@Sendable (ClientResponse) -> Void)? in
                guard let position = state.waiting.firstIndex(where: { $0.0 == request }) else { return nil }
                return state.waiting.remove(at: position).1
            }
            completion?(.ok)
        }
    }

    func testAdministrativeRequestsOnOneShardRunInTheOrderSent() async throws {
        let handler = RecordingHandler()
        let channel = NIOAsyncTestingChannel()
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandler(
                LineProtocolHandler(handler: handler, inflightRequestsMax: 16, serverInflight: ServerInflight(maximum: 16),
                                    mailbox: EventLoopMailbox(eventLoop: channel.testingEventLoop)))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        try await channel.writeInbound(ByteBuffer(string: "ADD-OBSERVER 3 4 h:7104\nPROMOTE 3 4\nREMOVE 5 2\nPUT k v\n"))
        let add = ClientRequest.addObserver(shard: 3, node: 4, address: "h:7104")
        let promote = ClientRequest.promote(shard: 3, node: 4)
        let remove = ClientRequest.remove(shard: 5, node: 2)
        let put = ClientRequest.put(key: Array("k".utf8), value: Array("v".utf8))
        XCTAssertEqual(handler.started, [add, remove, put], "PROMOTE 3 must wait for ADD-OBSERVER 3; other shards and data do not")
        handler.release(add)
        try await channel.testingEventLoop.executeInContext {}
        XCTAssertEqual(handler.started, [add, remove, put, promote], "PROMOTE 3 starts once ADD-OBSERVER 3 is answered")
        handler.release(promote)
        handler.release(remove)
        handler.release(put)
        var answers: [String] = []
        while answers.count < 4 {
            var buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            if let text = buffer.readString(length: buffer.readableBytes), !text.isEmpty {
                answers += text.split(separator: "\n").map(String.init)
            }
        }
        XCTAssertEqual(answers, ["OK", "OK", "OK", "OK"])
    }
}
