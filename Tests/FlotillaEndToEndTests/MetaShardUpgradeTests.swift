import Foundation
import XCTest

/// Issue 14: the cluster map's commands work on a restored cluster and on a data dir from
/// before the meta shard. `flotilla restore` creates the meta shard (on the members a new
/// cluster of them would put it on, the restored members as its host list); a host starting
/// on a data dir without it (here: restored with `--without-meta-shard`, as restores before
/// the meta shard left them) bootstraps it, only on the members the rule picks, alike on all.
/// Either way `ADD-HOST`, `REBALANCE` and `PLACEMENT` then work.
final class MetaShardUpgradeTests: EndToEndTestCase {
    let shards = 4

    func testARestoredClusterGrowsWithAddHostAndRebalance() throws {
        try restoreThenGrow(restoreFlags: [], upgradeLogged: false)
    }

    func testADataDirFromBeforeTheMetaShardBootstrapsItAndGrows() throws {
        try restoreThenGrow(restoreFlags: ["--without-meta-shard"], upgradeLogged: true)
    }

    func restoreThenGrow(restoreFlags: [String], upgradeLogged: Bool) throws {
        let original = try startCluster(shards: shards)
        let pairs = (0..<200).map { ("upgrade-\($0)", "value-\($0)") }
        try putAll(pairs, via: original[0])
        let exportDirectory = "\(root)/backup"
        let export = try runTool(binary, ["export", "--addr", original[1].clientAddress, "--dir", exportDirectory], in: root)
        try check(export.status == 0, "flotilla export failed: \(export.text)")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: exportDirectory)) ?? [])
            .filter { $0.hasSuffix(".flsnap") }.sorted().map { "\(exportDirectory)/\($0)" }
        try checkEqual(files.count, shards, "snapshot files")
        for host in original { _ = host.terminate() }

        // Four members: the meta shard goes on three of them, the same three on every host.
        var restored = (1...4).map { node in makeHost(node: node, extra: [], dataDirectory: "\(root)/restored-\(node)") }
        let newMembers = members(restored)
        for host in restored {
            let run = try runTool(binary, ["restore", "--data-dir", host.dataDirectory, "--node-id", "\(host.node)",
                                           "--members", newMembers] + restoreFlags + files, in: root)
            try check(run.status == 0, "restore of node \(host.node) failed: \(run.text)")
            host.useServeArguments(fastTicks)
            try host.start()
        }
        try waitUntilServing(restored, shards: shards)
        let upgraded = restored.filter { $0.log().contains("this data dir predates the meta shard: bootstrapped it with voters") }
        try checkEqual(upgraded.count, upgradeLogged ? 3 : 0, "hosts that bootstrapped the meta shard on start")
        let votersNamed = Set(upgraded.compactMap { host in
            host.log().components(separatedBy: "bootstrapped it with voters ").dropFirst().first?.split(separator: "\n").first.map(String.init)
        })
        try check(votersNamed.count <= 1, "every host computed the same meta shard voters: \(votersNamed)")
        if let named = votersNamed.first {
            try checkEqual(Set(upgraded.map(\.node)), idList(named), "exactly the voters named bootstrapped it")
        }

        // The map's commands work: host 4 joins and takes its share.
        let before = try placement(via: restored[2])
        try checkEqual(before.hosts, 4, "the restored members are the host list: \(before.line)")
        restored += try joinHosts([5], seeds: restored)
        let answer = try callUntil(restored[0], "REBALANCE") { $0.hasPrefix("OK ") }
        try check((Int(answer.dropFirst(3)) ?? 0) >= 2, "REBALANCE plans moves onto host 5: \(answer)")
        let grown = try waitUntilMoved(via: restored[1], timeout: 120)
        print("restored\(upgradeLogged ? " (upgraded)" : ""), then grown: \(grown.line)")
        try checkEqual(grown.hosts, 5, "host 5 listed: \(grown.line)")
        try check((2...3).contains(grown.replicas[5] ?? 0), "host 5 holds its share of 12 replicas: \(grown.line)")
        _ = try checkVoters(via: restored, live: Set(1...5), shards: shards)
        try checkReadable(Dictionary(uniqueKeysWithValues: pairs), via: restored)

        // A restart keeps it so: the marker stops a second bootstrap, and the map survives.
        for host in restored.prefix(4) {
            let before = host.log().components(separatedBy: "predates the meta shard").count
            host.kill9()
            try host.start()
            try waitFor("host \(host.node) answers PING", timeout: 30) { host.call("PING", timeoutSeconds: 2) == "PONG" }
            try checkEqual(host.log().components(separatedBy: "predates the meta shard").count, before,
                           "bootstraps of the meta shard on host \(host.node) after a restart")
        }
        try checkEqual(try placement(via: restored[0]).hosts, 5, "the map still lists host 5")
    }
}
