import FlotillaHost
import FlotillaRaft
import Foundation
import Synchronization
import XCTest

/// The request path's limits and its shutdown: a shard with `pendingRequestsMax` requests
/// waiting refuses the next with `busy` (nothing queued grows without bound), and stopping a
/// host with requests in flight answers every one of them exactly once. A proposal already in
/// the log is answered `timeout` (its fate is unknown: a later leader may commit it), never an
/// error that promises it was not applied.
final class RequestBackPressureTests: XCTestCase {
    /// Answers collected from callbacks: every answer of every request, to see each once.
    final class Answers: Sendable {
        let values = Mutex<[Int: [NodeHostError?]]>([:])
        func record<Value>(_ request: Int, _ result: Result<Value, NodeHostError>) {
            let error: NodeHostError?
            switch result {
            case .success: error = nil
            case .failure(let failure): error = failure
            }
            values.withLock { $0[request, default: []].append(error) }
        }
        var all: [Int: [NodeHostError?]] { values.withLock { $0 } }
    }

    func testFullShardAnswersBusyAndShutdownAnswersEveryWaitingRequestOnce() async throws {
        let cluster = TestCluster { configuration in
            configuration.pendingRequestsMax = 8
            // One second: the leader, cut off below, steps down (CheckQuorum) only well after
            // the proposals are in its log.
            configuration.electionTimeoutTicks = 100
            configuration.requestTimeoutMilliseconds = 60_000
        }
        try cluster.bootstrap(voters: [1, 2, 3], shards: [1])
        let leader = try cluster.leader(of: 1, timeoutSeconds: 60)
        try await cluster.put(1, "before", "1")
        // Without its followers the leader cannot commit: proposals wait in its log.
        for node in [ReplicaID(1), ReplicaID(2), ReplicaID(3)] where cluster.hosts[node] !== leader { cluster.crash(node) }

        let answers = Answers()
        for request in 0..<8 {
            leader.propose(ShardID(1), .put(key: Array("waiting-\(request)".utf8), value: [1])) { result in
                answers.record(request, result)
            }
        }
        // The worker takes a shard's requests in the order submitted: the ninth finds eight waiting.
        leader.propose(ShardID(1), .put(key: Array("refused".utf8), value: [1])) { answers.record(8, $0) }
        leader.read(ShardID(1), key: Array("before".utf8), linearizable: true) { answers.record(9, $0) }
        try cluster.waitUntil("the ninth proposal and the read are refused") { answers.all[8] != nil && answers.all[9] != nil }
        XCTAssertEqual(answers.all[8], [.busy("8 requests waiting on shard 1")])
        XCTAssertEqual(answers.all[9], [.busy("8 requests waiting on shard 1")])
        XCTAssertTrue((0..<8).allSatisfy { answers.all[$0] == nil }, "waiting proposals were answered early: \(answers.all)")

        leader.stop()
        let all = answers.all
        for request in 0..<8 {
            XCTAssertEqual(all[request], [.timeout],
                           "proposal \(request), in the log when the host stopped, must be answered timeout once")
        }
        // After stopping, a request is refused at once, before it reaches any log.
        let late = await leader.propose(ShardID(1), .put(key: Array("late".utf8), value: [1]))
        XCTAssertEqual(late, .failure(.shuttingDown))
    }
}
