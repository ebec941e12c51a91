import FlotillaRaft
import Foundation
import XCTest

@testable import FlotillaLogStore

/// A stream's writes become durable in order with no gap: once one is refused (here, a full
/// map), the stream's later writes are refused as well, queued or new, until it is resumed.
final class WriteStreamTests: XCTestCase {
    /// The outcome of one write, waited for by the test.
    private typealias Outcome = SynchronousWaiter

    private func nearlyFullStore(_ directory: String) async throws -> (LogStore, written: UInt64) {
        var configuration = LogStoreConfiguration(nodeID: 1)
        configuration.mapSizeBytesInitial = 1 << 20
        configuration.mapSizeBytesMax = 2 << 20
        // One batch per transaction, so a refused batch does not take its neighbours with it.
        configuration.transactionRequestsMax = 1
        let store = try LogStore(directory: directory, configuration: configuration)
        var written: UInt64 = 0
        while true {
            do {
                try await store.write(append(makeEntries(written + 1...written + 20, term: 1, payloadBytes: 1000)))
                written += 20
            } catch LogStoreError.mapFull {
                return (store, written)
            }
        }
    }

    private func write(_ store: LogStore, _ batch: WriteBatch, stream: WriteStream?) -> Outcome {
        let outcome = Outcome()
        store.write(batch, stream: stream) { outcome.finish($0) }
        return outcome
    }

    func testARefusedWriteRefusesTheStreamsQueuedAndLaterWritesUntilResumed() async throws {
        let directory = try makeTemporaryDirectory(self)
        let (store, written) = try await nearlyFullStore(directory)
        defer { store.close() }
        let stream = WriteStream(1)
        let other = WriteStream(2)
        store.writer.suspend()
        // Too big for what is left of the map:
        let big = write(store, append(makeEntries(written + 1...written + 100, term: 1, payloadBytes: 1000)), stream: stream)
        // Small enough to fit, but it follows the big one in its stream:
        let follower = write(store, append(makeEntries(written + 101...written + 101, term: 1)), stream: stream)
        // Another stream's small write is not held back.
        let unrelated = write(store, append(makeEntries(1...1, term: 1), shard: 2), stream: other)
        store.writer.resume()
        guard case .failure(.mapFull) = big.wait() else { return XCTFail("the big write was not refused as map full: \(big.wait())") }
        guard case .failure(.mapFull) = follower.wait() else { return XCTFail("the queued write was not held back: \(follower.wait())") }
        guard case .success = unrelated.wait() else { return XCTFail("another stream's write was refused: \(unrelated.wait())") }
        XCTAssertTrue(store.isRefusingWrites(stream))
        XCTAssertFalse(store.isRefusingWrites(other))

        // A new small write of the stream is refused at once, even though it would fit...
        let retried = append(makeEntries(written + 1...written + 1, term: 1))
        guard case .failure(.mapFull) = write(store, retried, stream: stream).wait() else { return XCTFail("the stream was not refusing") }
        // ... an empty one too, so that no outcome of the stream reads as durable out of order...
        guard case .failure(.mapFull) = write(store, WriteBatch(updates: []), stream: stream).wait() else { return XCTFail("an empty write passed") }
        // ... while a write outside any stream goes through.
        guard case .success = write(store, append(makeEntries(2...2, term: 1), shard: 2), stream: nil).wait() else { return XCTFail("a stream-less write was refused") }
        XCTAssertEqual(try store.bounds(shard: ShardID(1), replica: ReplicaID(1)).lastIndex, LogIndex(written))

        store.resumeWrites(stream)
        XCTAssertFalse(store.isRefusingWrites(stream))
        guard case .success = write(store, retried, stream: stream).wait() else { return XCTFail("the resumed stream was refused") }
        XCTAssertEqual(try store.bounds(shard: ShardID(1), replica: ReplicaID(1)).lastIndex, LogIndex(written + 1))
    }

    func testAFullQueueRefusesTheStreamUntilResumed() throws {
        let directory = try makeTemporaryDirectory(self)
        var configuration = LogStoreConfiguration(nodeID: 1)
        configuration.writeQueueRequestsMax = 1
        let store = try LogStore(directory: directory, configuration: configuration)
        defer { store.close() }
        let stream = WriteStream(7)
        store.writer.suspend()
        let first = write(store, append(makeEntries(1...1, term: 1)), stream: stream)
        let second = write(store, append(makeEntries(2...2, term: 1)), stream: stream)
        guard case .failure(.busy) = second.wait() else { return XCTFail("a full queue did not refuse: \(second.wait())") }
        store.writer.resume()
        guard case .success = first.wait() else { return XCTFail("the queued write failed") }
        // The queue has room again, but the stream stays refused until resumed.
        guard case .failure(.busy) = write(store, append(makeEntries(2...2, term: 1)), stream: stream).wait() else {
            return XCTFail("the stream accepted a write after a refusal")
        }
        store.resumeWrites(stream)
        guard case .success = write(store, append(makeEntries(2...2, term: 1)), stream: stream).wait() else { return XCTFail("resumed stream refused") }
        XCTAssertEqual(try store.bounds(shard: ShardID(1), replica: ReplicaID(1)).lastIndex, LogIndex(2))
    }
}
