import Foundation
import XCTest

/// Issue 7: export every shard of a running cluster, wipe it, rebuild it offline with
/// `flotilla restore`, serve it; and every refusal of `restore`.
final class RestoreEndToEndTests: EndToEndTestCase {
    func snapshotFiles(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".flsnap") }.sorted().map { "\(directory)/\($0)" }
    }

    func testExportWipeRestoreServe() throws {
        // Issue 7's proof: 16 shards, 10,000 keys.
        let shards = 16
        let hosts = try startCluster(shards: shards)
        let pairs = (0..<10_000).map { ("restore-key-\($0)", "value-\($0)-\(String(repeating: "x", count: $0 % 40))") }
        for (index, host) in hosts.enumerated() {
            try putAll(pairs.enumerated().filter { $0.offset % 3 == index }.map(\.element), via: host)
        }
        var expected = Dictionary(uniqueKeysWithValues: pairs)
        let deleted = (0..<100).map { "restore-key-\($0 * 97)" }
        guard let client = hosts[1].connect() else { return try check(false, "cannot connect") }
        try checkEqual(client.pipeline(deleted.map { "DEL \($0)" }) ?? [], Array(repeating: "OK", count: deleted.count), "DELs")
        client.close()
        for key in deleted { expected[key] = nil }

        // Export every shard: the command-line form against host 1, and EXPORT through host 2.
        let exportDirectory = "\(root)/backup"
        let export = try runTool(binary, ["export", "--addr", hosts[0].clientAddress, "--dir", exportDirectory], in: root)
        try check(export.status == 0, "flotilla export failed: \(export.text)")
        try checkEqual(export.stdout.split(separator: "\n").filter { $0.contains(": OK ") }.count, shards, "shards exported: \(export.stdout)")
        let files = snapshotFiles(in: exportDirectory)
        try checkEqual(files.count, shards, "snapshot files in \(exportDirectory)")
        let single = (hosts[1].call("EXPORT 2 \(root)/single") ?? "").split(separator: " ")
        try check(single.count == 3 && single[0] == "OK" && FileManager.default.fileExists(atPath: String(single[2])),
                  "EXPORT 2 through host 2 answered '\(single.joined(separator: " "))'")

        // Stop and wipe every host.
        for host in hosts {
            let exit = host.terminate()
            try check(exit?.status == 0, "host \(host.node) exit after SIGTERM: \(String(describing: exit))")
            try FileManager.default.removeItem(atPath: host.dataDirectory)
        }

        // Restore three fresh data dirs with new members (new addresses), serve them.
        let restored = (1...3).map { node in makeHost(node: node, extra: [], dataDirectory: "\(root)/restored-\(node)") }
        let newMembers = members(restored)
        for host in restored {
            let run = try runTool(binary, ["restore", "--data-dir", host.dataDirectory, "--node-id", "\(host.node)",
                                           "--members", newMembers] + files, in: root)
            try check(run.status == 0, "restore of node \(host.node) failed: \(run.text)")
            try check(run.stdout.contains("restored \(shards) shards"), "restore output: \(run.stdout)")
            host.useServeArguments(fastTicks)
            try host.start()
        }
        try waitUntilServing(restored, shards: shards)
        try checkReadable(expected, via: restored)
        guard let reader = restored[2].connect() else { return try check(false, "cannot connect") }
        try checkEqual(reader.pipeline(deleted.map { "GET \($0)" }) ?? [], Array(repeating: "NOT_FOUND", count: deleted.count),
                       "deleted keys after the restore")
        reader.close()
        for host in restored {
            for shard in 1...shards {
                try checkEqual(idList(host.status(shard)["voters"]), [1, 2, 3], "voters of restored shard \(shard) on host \(host.node)")
            }
        }
        // New writes work, through every host.
        for host in restored {
            try putAll([("after-restore-\(host.node)", "new \(host.node)"), ("restore-key-1", "overwritten by \(host.node)")], via: host)
            for other in restored {
                try checkEqual(other.call("GET after-restore-\(host.node)"), "VALUE new \(host.node)", "a new write read through host \(other.node)")
                try checkEqual(other.call("GET restore-key-1"), "VALUE overwritten by \(host.node)", "an overwrite read through host \(other.node)")
            }
        }
    }

    /// Restoring onto more hosts than the replica count places each shard on `--replicas` of
    /// them, as `flotilla serve --replicas` places a new cluster's: every host holds its share,
    /// and any host still answers any key.
    func testRestoreOntoFiveHostsPlacesEachShardOnThreeOfThem() throws {
        let shards = 8
        let hosts = try startCluster(shards: shards)
        let pairs = (0..<400).map { ("placed-\($0)", "value-\($0)") }
        try putAll(pairs, via: hosts[0])
        let exportDirectory = "\(root)/backup"
        let export = try runTool(binary, ["export", "--addr", hosts[1].clientAddress, "--dir", exportDirectory], in: root)
        try check(export.status == 0, "flotilla export failed: \(export.text)")
        let files = snapshotFiles(in: exportDirectory)
        try checkEqual(files.count, shards, "snapshot files")
        for host in hosts { _ = host.terminate() }

        let restored = (1...5).map { node in makeHost(node: node, extra: [], dataDirectory: "\(root)/placed-\(node)") }
        let newMembers = members(restored)
        var held = 0
        for host in restored {
            let run = try runTool(binary, ["restore", "--data-dir", host.dataDirectory, "--node-id", "\(host.node)",
                                           "--members", newMembers, "--replicas", "3"] + files, in: root)
            try check(run.status == 0, "restore of node \(host.node) failed: \(run.text)")
            let count = run.stdout.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? -1
            try check(run.stdout.contains("(of \(shards), each on 3 of the 5 members)") && (2...7).contains(count),
                      "restore output of node \(host.node): \(run.stdout)")
            held += count
            host.useServeArguments(fastTicks)
            try host.start()
        }
        try checkEqual(held, shards * 3, "replicas restored over the five hosts")
        try waitFor("every shard has a leader every host knows", timeout: 30) {
            (1...shards).allSatisfy { shard in
                let leaders = restored.map { self.leader(of: shard, askingHost: $0) }
                return Set(leaders).count == 1 && leaders[0] != 0
            }
        }
        for shard in 1...shards {
            try checkEqual(idList(restored[0].status(shard)["voters"]).count, 3, "voters of restored shard \(shard)")
        }
        try checkReadable(Dictionary(uniqueKeysWithValues: pairs), via: restored)
        for host in restored { try putAll([("after-\(host.node)", "new")], via: host) }
        try checkReadable(Dictionary(uniqueKeysWithValues: restored.map { ("after-\($0.node)", "new") }), via: restored)
    }

    func testRestoreRefusesBadTargetsAndBadSnapshotSets() throws {
        let shards = 4
        let host = makeHost(node: 1, extra: ["--shards", "\(shards)"] + fastTicks)
        try host.start()
        try waitUntilServing([host], shards: shards)
        try putAll((0..<200).map { ("refuse-\($0)", "v\($0)") }, via: host)
        // Another cluster, for a mixed set.
        let stranger = makeHost(node: 1, extra: ["--shards", "\(shards)"] + fastTicks, dataDirectory: "\(root)/stranger")
        try stranger.start()
        try waitUntilServing([stranger], shards: shards)
        try putAll([("stranger", "x")], via: stranger)
        for (source, directory) in [(host, "\(root)/good"), (stranger, "\(root)/other-cluster")] {
            let export = try runTool(binary, ["export", "--addr", source.clientAddress, "--dir", directory], in: root)
            try check(export.status == 0, "export failed: \(export.text)")
        }
        let good = snapshotFiles(in: "\(root)/good")
        let foreign = snapshotFiles(in: "\(root)/other-cluster")
        try checkEqual(good.count, shards, "exported files")
        try checkEqual(foreign.count, shards, "exported files of the other cluster")
        let members = "1=127.0.0.1:\(FreePort.next()),2=127.0.0.1:\(FreePort.next())"
        let scratch = "\(root)/bad"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)

        var caseNumber = 0
        func refuse(_ what: String, _ files: [String], target: String? = nil, mentions: [String],
                    file: StaticString = #filePath, line: UInt = #line) throws {
            caseNumber += 1
            let directory = target ?? "\(root)/target-\(caseNumber)"
            let before = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            let run = try runTool(binary, ["restore", "--data-dir", directory, "--node-id", "1", "--members", members] + files, in: root)
            try check(!run.timedOut && run.status != 0, "restore of \(what) was not refused: \(run.text)", file: file, line: line)
            try check(mentions.allSatisfy { run.stderr.contains($0) }, "the refusal of \(what) should mention \(mentions): \(run.text)",
                      file: file, line: line)
            let after = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            try checkEqual(after.sorted(), before.sorted(), "contents of the data dir after the refused restore of \(what)", file: file, line: line)
        }

        // A data dir that is not empty.
        let occupied = "\(root)/occupied"
        try FileManager.default.createDirectory(atPath: occupied, withIntermediateDirectories: true)
        try "mine".write(toFile: "\(occupied)/keep.txt", atomically: true, encoding: .utf8)
        try refuse("a non-empty data dir", good, target: occupied, mentions: ["not empty"])
        // A data dir in use by a running host.
        try refuse("a data dir in use", good, target: host.dataDirectory, mentions: [host.dataDirectory])
        // A shard missing, a shard twice.
        try refuse("a set without shard 3", good.filter { !$0.contains("shard-3-") }, mentions: ["shard 3", "incomplete"])
        let duplicate = "\(scratch)/copy-of-shard-2.flsnap"
        try FileManager.default.copyItem(atPath: good[1], toPath: duplicate)
        try refuse("a set with shard 2 twice", good + [duplicate], mentions: ["shard 2", "twice"])
        // Files of two clusters.
        try refuse("a set mixing clusters", Array(good.prefix(3)) + [foreign[3]], mentions: ["different clusters"])
        // A truncated file, at several lengths.
        let original = try Data(contentsOf: URL(fileURLWithPath: good[0]))
        for length in [0, 10, original.count / 2, original.count - 1] {
            let truncated = "\(scratch)/truncated-\(length).flsnap"
            try original.prefix(length).write(to: URL(fileURLWithPath: truncated))
            try refuse("a file truncated to \(length) of \(original.count) bytes", [truncated] + good.dropFirst(), mentions: [truncated])
        }
        // One flipped byte, anywhere.
        for position in [0, 9, original.count / 3, original.count / 2, original.count - 5, original.count - 1] {
            var bytes = original
            bytes[position] ^= 0x01
            let flipped = "\(scratch)/flipped-\(position).flsnap"
            try bytes.write(to: URL(fileURLWithPath: flipped))
            try refuse("a file with byte \(position) of \(original.count) flipped", [flipped] + good.dropFirst(), mentions: [flipped])
        }
        // The same set, intact, restores.
        let run = try runTool(binary, ["restore", "--data-dir", "\(root)/fine", "--node-id", "1", "--members", members] + good, in: root)
        try check(run.status == 0, "the intact set was refused: \(run.text)")
    }
}
