@testable import FlotillaServer
import XCTest

/// `ROUTES`'s answer and the leader hint, rendered and read back byte for byte, and the route
/// table a direct client merges from several hosts' answers.
final class RoutesLineTests: XCTestCase {
    func testTheAnswerIsOneLineOfNamedFields() {
        let routes = RoutesLine(node: 1, leaders: [1, 3, 0, 2], addresses: [
            2: HostClientAddresses(line: "127.0.0.1:7302", redis: nil),
            1: HostClientAddresses(line: "127.0.0.1:7301", redis: "127.0.0.1:7379"),
        ])
        XCTAssertEqual(routes.line, "node=1 shards=4 leaders=1,3,0,2 client=1@127.0.0.1:7301,2@127.0.0.1:7302 redis=1@127.0.0.1:7379")
        XCTAssertEqual(RoutesLine(line: routes.line), routes)
        XCTAssertEqual(ResponseRenderer.render(.status(routes.line)), Array((routes.line + "\n").utf8))
    }

    func testEmptyListsAndUnknownFieldsRead() {
        XCTAssertEqual(RoutesLine(line: "node=4 shards=0 leaders= client= redis="), RoutesLine(node: 4, leaders: [], addresses: [:]))
        XCTAssertEqual(RoutesLine(line: "node=2 shards=1 leaders=2 client=2@h:1 redis= epoch=9")?.addresses[2]?.line, "h:1",
                       "a field a later version adds is skipped")
    }

    func testMalformedAnswersAreRefused() {
        for bad in ["ERR NO_LEADER shard 3 has no leader", "node=0 shards=1 leaders=1", "node=1 shards=2 leaders=1",
                    "node=1 shards=1 leaders=x", "node=1 shards=1 leaders=1 client=1-h:1", "node=1 shards=1 leaders=1 client=1@h",
                    "node=1 shards=1 leaders=1 client=0@h:1", "node=1 leaders=1", "shards=1 leaders=1", "node=1 shards=1 leaders=1 junk"] {
            XCTAssertNil(RoutesLine(line: bad), bad)
        }
    }

    /// Ten thousand shards are one line of about four bytes each.
    func testManyShardsStayOneBoundedLine() {
        let leaders = (0..<10_000).map { UInt64($0 % 3 + 1) }
        let routes = RoutesLine(node: 2, leaders: leaders, addresses: [:])
        XCTAssertFalse(routes.line.contains("\n"))
        XCTAssertLessThan(routes.line.utf8.count, 10_000 * 2 + 100)
        XCTAssertEqual(RoutesLine(line: routes.line)?.leaders, leaders)
    }

    func testClientAddressesAndUnspecifiedHosts() {
        let addresses = HostClientAddresses(line: "0.0.0.0:7301", redis: "10.0.0.5:7379")
        XCTAssertEqual(addresses.text, "client=0.0.0.0:7301 redis=10.0.0.5:7379")
        XCTAssertEqual(HostClientAddresses(text: addresses.text), addresses)
        XCTAssertEqual(addresses.reachable(atHost: "h1"), HostClientAddresses(line: "h1:7301", redis: "10.0.0.5:7379"),
                       "a host listening everywhere is reached at its raft address's host")
        XCTAssertEqual(HostClientAddresses(line: "[::]:7301").reachable(atHost: "fd00::1").line, "[fd00::1]:7301")
        XCTAssertEqual(HostClientAddresses(text: ""), HostClientAddresses())
        XCTAssertNil(HostClientAddresses(text: "client=nowhere"))
        XCTAssertNil(HostClientAddresses(text: "metrics=h:1"))
    }

    func testTheLeaderHintIsAPrefixOfTheUsualAnswer() throws {
        let hinted = LeaderHint.render(leader: 3, answer: ResponseRenderer.render(.value(Array("LEADER 9 x".utf8))))
        XCTAssertEqual(String(decoding: hinted, as: UTF8.self), "LEADER 3 VALUE LEADER 9 x\n")
        let line = hinted.dropLast()
        let hint = try XCTUnwrap(LeaderHint.parse(line))
        XCTAssertEqual(hint.leader, 3)
        XCTAssertEqual(String(decoding: line[hint.answerStart...], as: UTF8.self), "VALUE LEADER 9 x", "the answer is untouched")
        for plain in ["OK", "VALUE LEADER 3 OK", "LEADER", "LEADER x OK", "LEADER 3", "LEADER 99999999999999999999 OK", "ERR NO_LEADER"] {
            XCTAssertNil(LeaderHint.parse(Array(plain.utf8)), plain)
        }
    }

    func testRoutesParseAndHintsAreNotEngineRequests() {
        XCTAssertEqual(try RequestParser.parse(Array("routes".utf8)).get(), .routes)
        if case .success = RequestParser.parse(Array("ROUTES 1".utf8)) { XCTFail("ROUTES takes no arguments") }
        XCTAssertEqual(LineSessionCommand.parse(Array("hints on".utf8)), .success(.hints(true)))
        XCTAssertEqual(LineSessionCommand.parse(Array("HINTS OFF".utf8)), .success(.hints(false)))
        XCTAssertEqual(LineSessionCommand.parse(Array("HINTS".utf8)), .failure(.init(code: .badRequest, message: "HINTS takes ON or OFF: HINTS ON|OFF")))
        XCTAssertNil(LineSessionCommand.parse(Array("HINTSX ON".utf8)))
        XCTAssertNil(LineSessionCommand.parse(Array("GET HINTS".utf8)))
    }

    /// A host names itself best; otherwise most hosts win; a joining host's empty answer
    /// changes nothing; a host's own address comes from its own answer.
    func testTheRouteTableMergesAnswers() {
        let first = RoutesLine(node: 1, leaders: [1, 2, 3, 0], addresses: [1: .init(line: "127.0.0.1:7301"), 2: .init(line: "127.0.0.1:9999")])
        let second = RoutesLine(node: 2, leaders: [3, 3, 2, 0], addresses: [2: .init(line: "127.0.0.1:7302")])
        let third = RoutesLine(node: 3, leaders: [3, 2, 2, 0], addresses: [3: .init(line: "[::1]:7303")])
        let joining = RoutesLine(node: 4, leaders: [], addresses: [4: .init(line: "127.0.0.1:7304")])
        let table = RouteTable(merging: [first, second, third, joining])
        XCTAssertEqual(table.shardCount, 4)
        XCTAssertEqual(table.leaders, [1, 2, 2, 0], "shard 1: host 1 claims it; 2: most say 2 (no claim); 3: host 2 claims it; 4: none known")
        XCTAssertEqual(table.addresses[2]?.port, 7302)
        XCTAssertEqual(table.addresses[3]?.host, "::1")
        XCTAssertEqual(table.addresses[4]?.port, 7304)
        var learned = table
        learned.learn(leader: 3, ofShard: 4)
        learned.learn(leader: 3, ofShard: 5)
        XCTAssertEqual(learned.leader(ofShard: 4), 3)
        XCTAssertEqual(learned.leader(ofShard: 5), 0, "out of range: unknown")
    }
}
