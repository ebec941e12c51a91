import Foundation
import XCTest

/// Issue 5 on three hosts: any host serves any key, linearizable reads through any host, and
/// no acknowledged write is lost when the host leading some shards, or every host, is killed.
final class ThreeHostTests: EndToEndTestCase {
    func testWritesAndLinearizableReadsThroughAnyHost() throws {
        // Leaders are placed by hand with TRANSFER below: leader balance stays off.
        let hosts = try startCluster(shards: 4, extra: ["--no-leader-balance"])
        let clients = hosts.compactMap { $0.connect() }
        try checkEqual(clients.count, 3, "connections")
        // Write through one host, read through another immediately: the read sees the write.
        for index in 0..<90 {
            let writer = index % 3
            let reader = (index + 1 + index / 3 % 2) % 3
            let key = "any-\(index)"
            try checkEqual(clients[writer].call("PUT \(key) value-\(index)"), "OK", "PUT \(key) via host \(writer + 1)")
            try checkEqual(clients[reader].call("GET \(key)"), "VALUE value-\(index)", "GET \(key) via host \(reader + 1) right after the PUT via host \(writer + 1)")
        }
        for index in 0..<12 {
            let key = "any-\(index)"
            try checkEqual(clients[2].call("PUT \(key) overwritten"), "OK", "overwrite via host 3")
            try checkEqual(clients[0].call("GET \(key)"), "VALUE overwritten", "GET via host 1 after an overwrite via host 3")
            try checkEqual(clients[1].call("CAS \(key) overwritten cas"), "OK", "CAS via host 2")
            try checkEqual(clients[2].call("GET \(key)"), "VALUE cas", "GET via host 3 after a CAS via host 2")
            try checkEqual(clients[0].call("CAS \(key) overwritten again"), "MISMATCH", "a stale CAS via host 1")
            try checkEqual(clients[1].call("DEL \(key)"), "OK", "DEL via host 2")
            try checkEqual(clients[0].call("GET \(key)"), "NOT_FOUND", "GET via host 1 after a DEL via host 2")
        }
        // Every host holds a replica of every shard, each agreeing on the voters.
        for host in hosts {
            for shard in 1...4 {
                let status = host.status(shard)
                try checkEqual(status["replica"], "\(host.node)", "STATUS \(shard) on host \(host.node) describes its own replica")
                try checkEqual(idList(status["voters"]), [1, 2, 3], "voters of shard \(shard) on host \(host.node)")
            }
        }
        // Every shard's leader on one host: an admin command through any host reaches it.
        for shard in 1...4 {
            _ = try callUntil(hosts[shard % 3], "TRANSFER \(shard) 2")
        }
        try waitFor("every host sees host 2 lead every shard after the transfers", timeout: 10) {
            hosts.allSatisfy { host in (1...4).allSatisfy { leader(of: $0, askingHost: host) == 2 } }
        }
        try checkEqual(clients[0].call("GET any-50"), "VALUE value-50", "GET after the transfers")
        // Without a quorum a write is refused (NO_LEADER) or its outcome unknown (TIMEOUT),
        // never acknowledged; the host still answers PING.
        for client in clients { client.close() }
        hosts[1].kill9()
        hosts[2].kill9()
        let started = Date()
        let put = hosts[0].call("PUT any-lost x", timeoutSeconds: 30) ?? "(no answer)"
        try check(put.hasPrefix("ERR NO_LEADER ") || put.hasPrefix("ERR TIMEOUT "), "PUT without a quorum answered '\(put)'")
        let get = hosts[0].call("GET any-50", timeoutSeconds: 30) ?? "(no answer)"
        try check(get.hasPrefix("ERR NO_LEADER ") || get.hasPrefix("ERR TIMEOUT "), "GET without a quorum answered '\(get)'")
        try check(Date().timeIntervalSince(started) < 25, "the refusals took \(Date().timeIntervalSince(started)) s")
        try checkEqual(hosts[0].call("PING"), "PONG", "PING without a quorum")
        try checkEqual(hosts[0].call("STALE-GET any-50"), "VALUE value-50", "STALE-GET without a quorum")
    }

    func testKillingTheHostLeadingSomeShardsWhileClientsWrite() throws {
        let shards = 4
        let hosts = try startCluster(shards: shards)
        let writer = AckedWriter(ports: hosts.map(\.clientPort), shards: shards, prefix: "kill-leader")
        writer.start()
        defer { writer.stop() }
        try waitFor("every shard has 20 acknowledged writes", timeout: 20) {
            (1...shards).allSatisfy { shard in writer.writes.keys.filter { shardOf($0, shards: shards) == shard }.count >= 20 }
        }
        // Twice: kill the host leading a shard (and whichever others it leads), then restart it.
        var restarted: [HostProcess] = []
        for round in 1...2 {
            let victimNode = leader(of: round, askingHost: hosts[0])
            try check((1...3).contains(victimNode), "no leader of shard \(round)")
            let victim = hosts[victimNode - 1]
            let survivors = hosts.filter { $0.node != victimNode }
            let led = (1...shards).filter { leader(of: $0, askingHost: survivors[0]) == victimNode }
            writer.setPorts(survivors.map(\.clientPort))
            let killed = Date()
            victim.kill9()
            // Writes resume on every shard within a few election timeouts (200-400 ms each here).
            try waitFor("every shard acknowledges a write after the kill", timeout: 15) {
                (1...shards).allSatisfy { writer.acknowledged(shard: $0, after: killed) }
            }
            let resumed = (1...shards).map { writer.lastAcknowledged(shard: $0)!.timeIntervalSince(killed) }.max()!
            print("round \(round): writes resumed on every shard \(String(format: "%.2f", resumed)) s after SIGKILL of host \(victimNode), which led shards \(led)")
            // Generous against the 200-400 ms election timeout: a loaded two-core machine.
            try check(resumed < 5, "writes took \(resumed) s to resume after the leader's host was killed")
            for shard in 1...shards {
                // The host asked may learn the new leader a heartbeat later than the writers do.
                try waitFor("shard \(shard) led by a surviving host", timeout: 5) {
                    survivors.map(\.node).contains(leader(of: shard, askingHost: survivors[0]))
                }
            }
            // Restart it with the same command line, on the same addresses.
            let before = writer.count
            try victim.start()
            restarted.append(victim)
            writer.setPorts(hosts.map(\.clientPort))
            try waitUntilServing(hosts, shards: shards)
            try waitFor("writes continue after the restart", timeout: 10) { writer.count > before + 50 }
        }
        writer.stop()
        try check(writer.unexpectedAnswers.isEmpty, "unexpected answers to writers: \(writer.unexpectedAnswers.prefix(5))")
        let acknowledged = writer.writes
        print("\(acknowledged.count) writes acknowledged")
        try checkReadable(acknowledged, via: hosts)
        // The restarted hosts' own replicas catch up with everything.
        for victim in restarted {
            try waitFor("host \(victim.node)'s replicas hold every acknowledged write (STALE-GET)", timeout: 20, interval: 0.2) {
                mismatches(acknowledged, via: victim, command: "STALE-GET")?.isEmpty == true
            }
        }
    }

    func testKillingEveryHostWhileClientsWrite() throws {
        let shards = 4
        let hosts = try startCluster(shards: shards)
        var acknowledged: [String: String] = [:]
        for round in 1...2 {
            let writer = AckedWriter(ports: hosts.map(\.clientPort), shards: shards, prefix: "kill-all-\(round)")
            writer.start()
            try waitFor("every shard has 30 acknowledged writes", timeout: 20) {
                (1...shards).allSatisfy { shard in writer.writes.keys.filter { shardOf($0, shards: shards) == shard }.count >= 30 }
            }
            for host in hosts { host.kill9() }
            writer.stop()
            try check(writer.unexpectedAnswers.isEmpty, "unexpected answers to writers: \(writer.unexpectedAnswers.prefix(5))")
            acknowledged.merge(writer.writes) { _, new in new }
            print("round \(round): \(writer.count) writes acknowledged before every host was killed")
            for host in hosts { try host.start() }
            try waitUntilServing(hosts, shards: shards)
            try checkReadable(acknowledged, via: hosts)
        }
        // And new writes work.
        try putAll([("after-crash", "yes")], via: hosts[2])
        try checkEqual(hosts[0].call("GET after-crash"), "VALUE yes", "a new write after the crashes")
    }
}
