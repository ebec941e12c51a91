import ArgumentParser
import FlotillaHost
import FlotillaLogStore
import FlotillaNode
import FlotillaRaft
import Foundation

/// `flotilla restore`: build a fresh data dir offline from exported snapshots.
struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a fresh data dir from exported snapshots (one per shard) with new voters.")

    @Option(name: .customLong("data-dir"), help: "The data dir to create (must be missing or empty).")
    var dataDirectory: String

    @Option(name: .customLong("node-id"), help: "The node id of the host that will serve this data dir.")
    var nodeID: UInt64

    @Option(name: .customLong("members"), help: "The restored cluster's voters, ID=HOST:PORT,...")
    var members: String

    @Option(name: .customLong("replicas"), help: "Voters per shard, placed over the --members as `flotilla serve --replicas` places them (every member when there are fewer).")
    var replicas = 3

    /// Leaves the data dir as a restore made before the meta shard existed did, for the test
    /// that `flotilla serve` brings such a data dir up to date.
    @Flag(name: .customLong("without-meta-shard"), help: .hidden)
    var withoutMetaShard = false

    @Argument(help: "Exported snapshot files, one per shard.")
    var files: [String]

    func run() throws {
        do {
            let memberList = try MemberList.parse(members)
            guard nodeID > 0, memberList[ReplicaID(nodeID)] != nil else {
                throw HostRuntimeError.invalidOption("--members must include this host's --node-id \(nodeID)")
            }
            let manager = FileManager.default
            var createdDirectory = false
            if manager.fileExists(atPath: dataDirectory) {
                let contents = (try? manager.contentsOfDirectory(atPath: dataDirectory)) ?? []
                guard contents.isEmpty else {
                    throw HostRuntimeError.dataDirectory("data dir \(dataDirectory) is not empty; restore only builds a fresh data dir")
                }
            } else {
                createdDirectory = true
            }
            guard replicas >= 1 else { throw HostRuntimeError.invalidOption("--replicas must be at least 1") }
            let snapshots = try ClusterRestore.validate(files: files)
            let shardCount = snapshots.first!.header.shardCount
            let placement = RestoredDataDirectory.placement(node: ReplicaID(nodeID), members: memberList,
                                                            replicaCount: replicas, shardCount: shardCount)
            let clusterID = ClusterRestore.restoredClusterID(snapshots, members: memberList, replicaCount: placement?.replicaCount)
            let store: LogStore
            do {
                store = try LogStore(directory: dataDirectory, configuration: LogStoreConfiguration(nodeID: nodeID, clusterID: clusterID))
            } catch {
                throw HostRuntimeError.dataDirectory("\(error)")
            }
            let restored: [ShardID]
            do {
                restored = try ClusterRestore.restore(snapshots, members: memberList, placement: placement,
                                                      store: LMDBHostLogStore(store: store),
                                                      snapshotDirectory: dataDirectory + "/snapshots").shards
                if !withoutMetaShard {
                    _ = try RestoredDataDirectory.bootstrapMetaShard(node: ReplicaID(nodeID), members: memberList,
                                                                     store: LMDBHostLogStore(store: store))
                }
                try RestoredDataDirectory.finish(directory: dataDirectory, shardCount: shardCount, replicaCount: replicas, members: memberList,
                                                 withMetaShard: !withoutMetaShard)
                store.close()
            } catch {
                store.close()
                if createdDirectory { try? manager.removeItem(atPath: dataDirectory) } else { Self.empty(dataDirectory) }
                throw error
            }
            let held = Set(restored)
            let keys = snapshots.filter { held.contains($0.header.shard) }.reduce(0) { $0 + $1.stateMachine.count }
            let share = restored.count == snapshots.count ? "" : " (of \(snapshots.count), each on \(placement?.replicaCount ?? memberList.count) of the \(memberList.count) members)"
            print("restored \(restored.count) shards\(share) (\(keys) keys) into \(dataDirectory) for node \(nodeID), cluster \(String(clusterID, radix: 16))")
            print("start it with: flotilla serve --node-id \(nodeID) --data-dir \(dataDirectory) --raft-addr \(memberList[ReplicaID(nodeID)]!) --client-addr HOST:PORT")
        } catch let error as HostRuntimeError {
            FileHandle.standardError.write(Data("flotilla restore: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as RestoreError {
            FileHandle.standardError.write(Data("flotilla restore: refused: \(error)\n".utf8))
            throw ExitCode(1)
        } catch {
            FileHandle.standardError.write(Data("flotilla restore: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    static func empty(_ directory: String) {
        for item in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            try? FileManager.default.removeItem(atPath: directory + "/" + item)
        }
    }
}
