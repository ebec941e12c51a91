import Foundation

/// A batch waiting for the writer, and how to tell its caller the outcome.
final class PendingWrite: @unchecked Sendable {
    enum Completion {
        case waiter(SynchronousWaiter)
        /// Called on the writer thread: for a caller that must not block (a step worker that
        /// goes on stepping other shards while the write is in flight).
        case callback(@Sendable (Result<Void, LogStoreError>) -> Void)
    }

    let batch: WriteBatch
    let sizeBytes: Int
    /// The ordered stream the batch belongs to, if any (see `WriteStream`).
    let stream: WriteStream?
    private let completion: Completion

    init(batch: WriteBatch, stream: WriteStream? = nil, completion: Completion) {
        self.batch = batch
        self.sizeBytes = batch.sizeBytes
        self.stream = stream
        self.completion = completion
    }

    /// Called exactly once, by the writer thread (or by `submit` when the queue refuses it).
    func complete(_ result: Result<Void, LogStoreError>) {
        switch completion {
        case let .waiter(waiter):
            waiter.finish(result)
        case let .callback(body):
            body(result)
        }
    }
}

/// Blocks a non-async caller (a worker thread) until the writer reports its batch's outcome.
final class SynchronousWaiter: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<Void, LogStoreError>?

    func finish(_ outcome: Result<Void, LogStoreError>) {
        condition.lock()
        result = outcome
        condition.signal()
        condition.unlock()
    }

    func wait() -> Result<Void, LogStoreError> {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return result!
    }
}
