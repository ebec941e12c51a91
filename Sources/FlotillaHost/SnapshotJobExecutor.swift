/// Where the host's snapshot files are written: off the step workers, so that a snapshot
/// stalls neither a worker's other shards nor its heartbeats. Production runs the jobs on the
/// snapshot thread (`SnapshotWriter`); a simulator runs each as an event of its own, so that a
/// snapshot's file can be durable before or after anything else the host does.
package protocol SnapshotJobExecutor: Sendable {
    /// Begins running submitted jobs.
    func start()
    /// Queues a job; false when too many are waiting (the caller reports the snapshot failed).
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool
    /// Runs what is queued, then stops.
    func stop()
}
