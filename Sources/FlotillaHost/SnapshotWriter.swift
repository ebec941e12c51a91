import FlotillaThreads
import Foundation

/// The host's thread for snapshot files: serializing a shard's data and syncing the file
/// happen here, not on the step worker, so a snapshot stalls neither the worker's other shards
/// nor its heartbeats (Dragonboat gives snapshot work workers of its own for the same reason).
/// The worker hands over a copy of the state machine (a copy-on-write value: free until the
/// shard's next write) and hears back when the file is durable.
final class SnapshotWriter: SnapshotJobExecutor {
    private let queue: WorkQueue<@Sendable () -> Void>
    private let done = DispatchSemaphore(value: 0)

    init(capacity: Int = 4_096) {
        queue = WorkQueue(capacity: capacity)
    }

    func start() {
        let thread = Thread { [queue, done] in
            nameCurrentThread("flotilla-snapshot")
            while true {
                let jobs = queue.takeAll()
                if jobs.isEmpty { break }
                for job in jobs { job() }
            }
            done.signal()
        }
        thread.name = "flotilla-snapshot"
        thread.start()
    }

    /// Queues a job; false when the queue is full (the caller reports the snapshot failed).
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        queue.push(job)
    }

    /// Runs what is queued, then stops the thread.
    func stop() {
        queue.close()
        done.wait()
    }
}
