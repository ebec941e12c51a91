import Foundation
import XCTest

/// Issue 5: every command and every error code of the line protocol over a real socket, on a
/// host started with nothing but its data dir and addresses (so node 1, 16 shards, itself as
/// the only voter).
final class SingleHostProtocolTests: EndToEndTestCase {
    func startDefaultHost() throws -> HostProcess {
        let host = makeHost(node: 1, extra: [])
        host.arguments = ["serve", "--data-dir", host.dataDirectory, "--raft-addr", host.raftAddress, "--client-addr", host.clientAddress, "--redis-addr", host.redisAddress]
        try host.start()
        try waitUntilServing([host], shards: 16)
        return host
    }

    func testEveryCommandAndErrorCodeOverASocket() throws {
        let host = try startDefaultHost()
        guard let client = host.connect() else { return try check(false, "cannot connect") }
        func expect(_ line: String, _ answer: String, file: StaticString = #filePath, fileLine: UInt = #line) throws {
            try checkEqual(client.call(line), answer, "'\(line.prefix(80))'", file: file, line: fileLine)
        }
        func expectError(_ line: String, _ code: String, file: StaticString = #filePath, fileLine: UInt = #line) throws {
            let answer = client.call(line) ?? "(no answer)"
            try check(answer.hasPrefix("ERR \(code) ") && answer.count > "ERR \(code) ".count,
                      "'\(line.prefix(80))' should answer ERR \(code) <message>, got '\(answer.prefix(200))'", file: file, line: fileLine)
        }

        // Liveness and shard routing (16 shards by default).
        try expect("PING", "PONG")
        try expect("ping", "PONG")
        for key in ["greeting", "a", "user:42", String(repeating: "z", count: 1024)] {
            try expect("SHARD \(key)", "SHARD \(shardOf(key, shards: 16))")
        }

        // PUT, GET, STALE-GET, values with spaces, empty values, CRLF, case-insensitive names.
        try expect("PUT greeting hello  world ", "OK")
        try expect("GET greeting", "VALUE hello  world ")
        try expect("STALE-GET greeting", "VALUE hello  world ")
        try expect("get greeting\r", "VALUE hello  world ")
        try expect("Stale-Get greeting", "VALUE hello  world ")
        try expect("PUT empty ", "OK")
        try expect("GET empty", "VALUE ")
        try expect("GET never-written", "NOT_FOUND")
        try expect("STALE-GET never-written", "NOT_FOUND")

        // CAS and DEL.
        try expect("CAS greeting x y", "MISMATCH")
        try expect("CAS absent x y", "MISMATCH")
        try expect("PUT counter 1", "OK")
        try expect("CAS counter 1 2", "OK")
        try expect("GET counter", "VALUE 2")
        try expect("CAS counter 1 3", "MISMATCH")
        try expect("GET counter", "VALUE 2")
        try expect("DEL counter", "OK")
        try expect("GET counter", "NOT_FOUND")
        try expect("DEL counter", "OK")
        try expect("CAS counter 2 3", "MISMATCH")

        // Pipelining: answers in request order, a connection reads its own writes.
        var lines: [String] = []
        var expected: [String] = []
        for index in 0..<150 {
            lines += ["PUT pipe-\(index) value-\(index)", "GET pipe-\(index)"]
            expected += ["OK", "VALUE value-\(index)"]
        }
        lines.append("PING")
        expected.append("PONG")
        try checkEqual(client.pipeline(lines, batch: lines.count) ?? [], expected, "pipelined answers")

        // Limits: a 1 MiB value and a 1024-byte key are allowed; one more byte is TOO_LARGE and
        // keeps the connection open.
        let bigValue = String(repeating: "v", count: 1 << 20)
        try expect("PUT big \(bigValue)", "OK")
        try checkEqual(client.call("GET big")?.count, "VALUE ".count + (1 << 20), "length of the 1 MiB value read back")
        let longKey = String(repeating: "k", count: 1024)
        try expect("PUT \(longKey) x", "OK")
        try expect("GET \(longKey)", "VALUE x")
        try expectError("PUT big \(bigValue)v", "TOO_LARGE")
        try expectError("PUT \(longKey)k x", "TOO_LARGE")
        try expectError("GET \(longKey)k", "TOO_LARGE")
        try expect("PING", "PONG")
        try checkEqual(client.call("GET big")?.count, "VALUE ".count + (1 << 20), "the 1 MiB value after a refused overwrite")

        // BAD_REQUEST never closes the connection.
        for line in ["", "\r", "FROB x", "PUT k", "PUT", "GET", "GET a b", "DEL", "CAS a b", "CAS a b c d", "SHARD",
                     "STATUS", "STATUS x", "STATUS 1 2 3", "STATUS 1 x", "PING extra", "ADD-OBSERVER 1", "ADD-OBSERVER 1 x 127.0.0.1:1",
                     "PROMOTE 1", "REMOVE x 2", "TRANSFER 1", "SNAPSHOT", "EXPORT 1", "PUT a\u{0}b c", "GET  a"] {
            try expectError(line, "BAD_REQUEST")
        }
        try expect("PING", "PONG")

        // UNKNOWN_SHARD: shard numbers out of range.
        for line in ["STATUS 99", "STATUS 17", "SNAPSHOT 17", "EXPORT 17 \(root)/exports", "ADD-OBSERVER 17 2 127.0.0.1:1",
                     "PROMOTE 17 2", "REMOVE 17 2", "TRANSFER 17 1"] {
            try expectError(line, "UNKNOWN_SHARD")
        }

        // STATUS names the replica here; SNAPSHOT compacts and says where; EXPORT writes a file.
        let greetingShard = shardOf("greeting", shards: 16)
        let status = statusFields(client.call("STATUS \(greetingShard)"))
        for field in ["shard", "replica", "role", "leader", "term", "commit", "applied", "last", "snapshot", "voters", "observers"] {
            try check(status[field] != nil, "STATUS lacks \(field)=: \(status)")
        }
        try checkEqual(status["shard"], "\(greetingShard)", "STATUS shard")
        try checkEqual(status["role"], "leader", "STATUS role")
        try checkEqual(status["leader"], "1", "STATUS leader")
        try checkEqual(status["voters"], "1", "STATUS voters")
        try checkEqual(status["observers"], "", "STATUS observers")
        let snapshotAnswer = client.call("SNAPSHOT \(greetingShard)") ?? ""
        let snapshotIndex = Int(snapshotAnswer.dropFirst(3)) ?? 0
        try check(snapshotAnswer.hasPrefix("OK ") && snapshotIndex >= Int(status["applied"] ?? "") ?? .max,
                  "SNAPSHOT answered '\(snapshotAnswer)' (applied was \(status["applied"] ?? "?"))")
        try checkEqual(statusFields(client.call("STATUS \(greetingShard)"))["snapshot"], "\(snapshotIndex)", "STATUS snapshot after SNAPSHOT")
        try expect("GET greeting", "VALUE hello  world ")
        let exportAnswer = (client.call("EXPORT \(greetingShard) \(root)/exports") ?? "").split(separator: " ").map(String.init)
        try check(exportAnswer.count == 3 && exportAnswer[0] == "OK" && Int(exportAnswer[1]) != nil,
                  "EXPORT answered '\(exportAnswer.joined(separator: " "))'")
        try check(exportAnswer[2].hasPrefix("\(root)/exports/") && FileManager.default.fileExists(atPath: exportAnswer[2]),
                  "EXPORT's file \(exportAnswer[2]) is not an existing absolute path under \(root)/exports")

        // Membership admin on a one-voter shard: an observer that is far behind (here: never
        // reachable, with more than 64 committed entries to catch up on) cannot be promoted.
        let shard = 2
        let shardKeys = keys(inShard: shard, shards: 16, prefix: "lag", count: 80)
        try putAll(shardKeys.map { ($0, "x") }, via: host)
        let nowhere = FreePort.next()
        try checkEqual(try callUntil(host, "ADD-OBSERVER \(shard) 2 127.0.0.1:\(nowhere)", retryOn: ["ERR BUSY"]), "OK", "ADD-OBSERVER")
        try checkEqual(idList(host.status(shard)["observers"]), [2], "observers after ADD-OBSERVER")
        let promote = try callUntil(host, "PROMOTE \(shard) 2", retryOn: ["ERR BUSY"]) { !$0.hasPrefix("ERR BUSY") }
        try check(promote.hasPrefix("ERR NOT_CAUGHT_UP "), "PROMOTE of a lagging observer answered '\(promote)'")
        try expectError("PROMOTE \(shard) 5", "BAD_REQUEST")
        try expectError("TRANSFER \(shard) 2", "BAD_REQUEST")
        try expect("TRANSFER \(shard) 1", "OK")
        try checkEqual(try callUntil(host, "REMOVE \(shard) 2", retryOn: ["ERR BUSY"]), "OK", "REMOVE of the observer")
        try checkEqual(host.status(shard)["observers"], "", "observers after REMOVE")
        let readd = try callUntil(host, "ADD-OBSERVER \(shard) 2 127.0.0.1:\(nowhere)", retryOn: ["ERR BUSY"]) { !$0.hasPrefix("ERR BUSY") }
        try check(readd.hasPrefix("ERR BAD_REQUEST "), "ADD-OBSERVER of a removed node id answered '\(readd)'")
        try expect("PUT \(shardKeys[0]) after-remove", "OK")

        // TOO_LARGE for a line: answered as soon as the limit is passed, then the connection is
        // closed; other connections carry on.
        guard let flooder = host.connect() else { return try check(false, "cannot connect a second client") }
        let limit = (1 << 20) + 2048
        try check(flooder.send(bytes: Array("PUT flood ".utf8) + [UInt8](repeating: UInt8(ascii: "f"), count: limit)),
                  "sending the oversized line failed before the limit")
        let tooLarge = flooder.readLine() ?? "(no answer)"
        try check(tooLarge.hasPrefix("ERR TOO_LARGE "), "an oversized line answered '\(tooLarge.prefix(200))'")
        try check(flooder.isClosedByPeer(), "the connection stayed open after ERR TOO_LARGE for a line")
        try expect("GET flood", "NOT_FOUND")
        try expect("GET greeting", "VALUE hello  world ")
        client.close()

        // SIGTERM: a clean stop, exit 0; the data is there after a restart.
        let exit = host.terminate()
        try check(exit?.status == 0 && exit?.bySignal == false, "SIGTERM exit: \(String(describing: exit))")
        try host.start()
        try waitUntilServing([host], shards: 16)
        try checkEqual(host.call("GET greeting"), "VALUE hello  world ", "GET after a clean restart")
        try checkEqual(host.call("GET \(shardKeys[0])"), "VALUE after-remove", "GET after a clean restart")
    }

    /// A fresh observer that has never answered the leader is not caught up, however short the
    /// log (README: "it answered the leader within about one election timeout"). Promoting it
    /// anyway would make an unreachable node a voter: on a one-voter shard, a dead shard.
    func testPromotingAnObserverThatNeverAnsweredIsRefused() throws {
        let host = makeHost(node: 1, extra: ["--shards", "4"] + fastTicks)
        try host.start()
        try waitUntilServing([host], shards: 4)
        let shard = 3
        try checkEqual(try callUntil(host, "ADD-OBSERVER \(shard) 2 127.0.0.1:\(FreePort.next())", retryOn: ["ERR BUSY"]), "OK", "ADD-OBSERVER")
        let promote = try callUntil(host, "PROMOTE \(shard) 2", retryOn: ["ERR BUSY"]) { !$0.hasPrefix("ERR BUSY") }
        try check(promote.hasPrefix("ERR NOT_CAUGHT_UP "),
                  "PROMOTE of an observer that never answered answered '\(promote)' (status now: \(host.call("STATUS \(shard)") ?? "?"))")
        let key = keys(inShard: shard, shards: 4, prefix: "after", count: 1)[0]
        try checkEqual(host.call("PUT \(key) 1", timeoutSeconds: 20), "OK", "a write to the shard afterwards")
    }
}
