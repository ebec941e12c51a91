import Foundation
import XCTest

/// A quiet (idle) shard does not tick, so nothing in it would notice its leader's death: the
/// first request after it would wait out an election, and `/health` would say `ok`. Losing the
/// leader's connection wakes the shard, and it elects a new leader with no request at all.
final class QuietLeaderLossTests: EndToEndTestCase {
    func testAQuietShardElectsANewLeaderWhenItsLeaderDiesWithNoRequest() throws {
        let shards = 4
        let hosts = try startCluster(shards: shards)
        try putAll((1...shards).map { (keys(inShard: $0, shards: shards, prefix: "quiet", count: 1)[0], "v\($0)") }, via: hosts[0])
        // STATUS is not activity: asking does not wake a shard.
        try waitFor("every replica of every shard is quiet", timeout: 60, interval: 0.2) {
            hosts.allSatisfy { host in (1...shards).allSatisfy { host.status($0)["quiet"] == "true" } }
        }
        let victim = leader(of: 1, askingHost: hosts[0])
        try check(victim != 0, "shard 1 has a leader")
        let dead = hosts.first { $0.node == victim }!
        let survivors = hosts.filter { $0.node != victim }
        let ledByVictim = (1...shards).filter { leader(of: $0, askingHost: survivors[0]) == victim }
        dead.kill9()
        try waitFor("the shards the dead host led elect a new leader, with no request", timeout: 30, interval: 0.1) {
            ledByVictim.allSatisfy { shard in
                let leaders = survivors.map { self.leader(of: shard, askingHost: $0) }
                return Set(leaders).count == 1 && leaders[0] != 0 && leaders[0] != victim
            }
        }
        for host in survivors {
            let health = httpGet(port: host.metricsPort, path: "/health")
            try checkEqual(health?.status, 200, "host \(host.node)'s /health after the new elections: \(health?.body ?? "")")
        }
    }
}
