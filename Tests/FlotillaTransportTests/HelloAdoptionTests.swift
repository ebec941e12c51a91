import FlotillaHost
import FlotillaRaft
@testable import FlotillaTransport
import Synchronization
import XCTest

/// What a host learns from a peer's hello. A joining host that was stopped after recording its
/// cluster's identity but before the shard count used to restart knowing its cluster and not its
/// shards, and nothing taught it the count again: it answered every request as a host that has
/// not joined (the end-to-end kill-point test caught it, as an observer whose `STATUS` never
/// showed itself). A hello of its own cluster now hands it the count.
final class HelloAdoptionTests: XCTestCase {
    func hello(cluster: UInt64, node: UInt64, shardCount: UInt64) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        writer.write(cluster)
        writer.write(node)
        writer.write(shardCount)
        writer.writeString("127.0.0.1:1")
        return writer.bytes
    }

    func transport(cluster: UInt64) -> TCPTransport {
        TCPTransport(configuration: TCPTransportConfiguration(nodeID: ReplicaID(4), clusterID: cluster, listenHost: "127.0.0.1",
                                                              listenPort: 0, snapshotReceiveDirectory: NSTemporaryDirectory()))
    }

    func testAHostThatKnowsItsClusterButNotItsShardCountLearnsTheCount() {
        let transport = transport(cluster: 77)
        let learned = Mutex<[UInt64]>([])
        transport.onClusterIdentityAdopted { identity, count in
            XCTAssertEqual(identity, 77)
            learned.withLock { $0.append(count) }
        }
        XCTAssertTrue(transport.accept(hello: hello(cluster: 77, node: 1, shardCount: 16)))
        XCTAssertTrue(transport.accept(hello: hello(cluster: 77, node: 2, shardCount: 16)))
        XCTAssertEqual(learned.withLock { $0 }, [16], "told once")
        XCTAssertEqual(transport.shardCount.load(ordering: .relaxed), 16)
    }

    func testAHostOfAnotherClusterIsRefusedAndTeachesNothing() {
        let transport = transport(cluster: 77)
        let learned = Mutex<[UInt64]>([])
        transport.onClusterIdentityAdopted { _, count in learned.withLock { $0.append(count) } }
        XCTAssertFalse(transport.accept(hello: hello(cluster: 78, node: 1, shardCount: 16)))
        XCTAssertEqual(learned.withLock { $0 }, [])
        XCTAssertEqual(transport.shardCount.load(ordering: .relaxed), 0)
    }

    func testAJoiningHostLearnsIdentityAndCountTogether() {
        let transport = transport(cluster: 0)
        let learned = Mutex<[String]>([])
        transport.onClusterIdentityAdopted { identity, count in learned.withLock { $0.append("\(identity)/\(count)") } }
        XCTAssertTrue(transport.accept(hello: hello(cluster: 77, node: 1, shardCount: 8)))
        XCTAssertTrue(transport.accept(hello: hello(cluster: 77, node: 2, shardCount: 8)))
        XCTAssertEqual(learned.withLock { $0 }, ["77/8"])
    }
}
