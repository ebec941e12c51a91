import Foundation
import XCTest

/// A relayed request whose leader dies while the request is in flight. The relaying host
/// cannot know whether the leader applied a write, so it answers `TIMEOUT`, never an error
/// that promises "not applied". A read changes nothing, so the relaying host tries it again
/// on whoever leads next and answers it.
final class RelayFailureTests: EndToEndTestCase {
    func testRelayThatLosesItsLeaderMidRequestAnswersTimeoutForWritesAndRetriesReads() throws {
        let hosts = try startCluster(shards: 1)
        let leaderNode = leader(of: 1, askingHost: hosts[0])
        let leader = hosts.first { $0.node == leaderNode }!
        let relay = hosts.first { $0.node != leaderNode }!
        let witness = hosts.first { $0.node != leaderNode && $0.node != relay.node }!
        try checkEqual(relay.call("PUT relayed-key before"), "OK", "PUT through the relay while the leader is up")

        // The leader stops answering; the relay still believes in it and relays to it.
        guard let pid = leader.pid else { return XCTFail("leader not running") }
        kill(pid, SIGSTOP)
        guard let writer = relay.connect(), let reader = relay.connect() else { return XCTFail("cannot connect to the relay") }
        try check(writer.send("PUT relayed-key after"), "send the PUT")
        try check(reader.send("GET relayed-key"), "send the GET")
        // The relay forwards within microseconds; electing a new leader takes at least an
        // election timeout. Once the others have elected one, both requests are surely in
        // flight to the stopped host.
        try waitFor("the other hosts elect a new leader", timeout: 20) {
            let seen = self.leader(of: 1, askingHost: witness)
            return seen != 0 && seen != leaderNode
        }
        leader.kill9()

        writer.setTimeout(20)
        let put = writer.readLine() ?? "(no answer)"
        try check(put.hasPrefix("ERR TIMEOUT "), "a relayed PUT whose leader died answered '\(put)', not TIMEOUT")
        reader.setTimeout(20)
        let get = reader.readLine() ?? "(no answer)"
        try check(get == "VALUE before" || get == "VALUE after", "a relayed GET whose leader died answered '\(get)'")
        // Whatever the PUT's fate, every surviving host now agrees on it.
        let final = try callUntil(relay, "GET relayed-key") { $0.hasPrefix("VALUE ") }
        try check(final == "VALUE before" || final == "VALUE after", "GET after the failover answered '\(final)'")
        try checkEqual(witness.call("GET relayed-key"), final, "GET through the other survivor")
        writer.close()
        reader.close()
    }
}
