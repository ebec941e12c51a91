/// What one run (or, summed, a sweep) of the host simulator did, so a sweep can show its
/// faults and workload were not vacuous.
public struct HostSimulationReport: Sendable, CustomStringConvertible {
    public var events = 0
    public var simulatedMilliseconds: UInt64 = 0
    public var writesAcknowledged = 0
    public var readsCompleted = 0
    public var requestsFailed = 0
    public var crashes = 0
    public var restarts = 0
    public var failStops = 0
    public var partitions = 0
    public var oneWayPartitions = 0
    public var messagesDelivered = 0
    public var messagesDropped = 0
    public var storeWrites = 0
    public var writesLostAtCrash = 0
    /// Periods a host's store was full, and the writes it refused then.
    public var storeFullPeriods = 0
    public var writesRefused = 0
    public var snapshotsWritten = 0
    public var snapshotsSent = 0
    public var snapshotsInstalled = 0
    public var leadershipsWon = 0
    public var livenessRuns = 0
    public var membershipChanges = 0
    /// Simulated milliseconds from the end of faults until the core had served everything.
    public var recoveryMillisecondsMax: UInt64 = 0
    /// A digest of every event run, in order: two runs of a seed must agree.
    public var fingerprint: UInt64 = 0

    public init() {}

    mutating func add(_ other: HostSimulationReport) {
        events += other.events
        simulatedMilliseconds += other.simulatedMilliseconds
        writesAcknowledged += other.writesAcknowledged
        readsCompleted += other.readsCompleted
        requestsFailed += other.requestsFailed
        crashes += other.crashes
        restarts += other.restarts
        failStops += other.failStops
        partitions += other.partitions
        oneWayPartitions += other.oneWayPartitions
        messagesDelivered += other.messagesDelivered
        messagesDropped += other.messagesDropped
        storeWrites += other.storeWrites
        writesLostAtCrash += other.writesLostAtCrash
        storeFullPeriods += other.storeFullPeriods
        writesRefused += other.writesRefused
        snapshotsWritten += other.snapshotsWritten
        snapshotsSent += other.snapshotsSent
        snapshotsInstalled += other.snapshotsInstalled
        leadershipsWon += other.leadershipsWon
        livenessRuns += other.livenessRuns
        membershipChanges += other.membershipChanges
        recoveryMillisecondsMax = max(recoveryMillisecondsMax, other.recoveryMillisecondsMax)
        fingerprint ^= other.fingerprint
    }

    public var description: String {
        "events=\(events) simulated_ms=\(simulatedMilliseconds) writes_acknowledged=\(writesAcknowledged) reads=\(readsCompleted) "
            + "requests_failed=\(requestsFailed) crashes=\(crashes) restarts=\(restarts) fail_stops=\(failStops) "
            + "partitions=\(partitions) one_way_partitions=\(oneWayPartitions) messages_delivered=\(messagesDelivered) "
            + "messages_dropped=\(messagesDropped) store_writes=\(storeWrites) writes_lost_at_crash=\(writesLostAtCrash) store_full_periods=\(storeFullPeriods) writes_refused=\(writesRefused) "
            + "snapshots_written=\(snapshotsWritten) snapshots_sent=\(snapshotsSent) snapshots_installed=\(snapshotsInstalled) "
            + "leaderships_won=\(leadershipsWon) liveness_runs=\(livenessRuns) membership_changes=\(membershipChanges) recovery_ms_max=\(recoveryMillisecondsMax) "
            + "fingerprint=\(String(fingerprint, radix: 16))"
    }
}
