import FlotillaRaft
import XCTest

/// A caller whose state machine is durable (written with its log, as the host's is) restarts
/// with an applied index that may be ahead of the stored commit index, since a change of the
/// commit index alone is not written. The core must take that applied index as committed and
/// hand out nothing at or below it again: entries applied twice would break non-idempotent
/// commands (`INCR`, `APPEND`) on that replica for good.
final class DurableStateRestartTests: XCTestCase {
    func testAppliedIndexAheadOfTheStoredCommitIsNotAppliedAgain() {
        let members = Membership(voters: [ReplicaID(1), ReplicaID(2), ReplicaID(3)])
        let log = MemoryRaftLog(bootstrap: members)
        let bootstrapped = log.lastIndex
        XCTAssertEqual(log.hardState.commit, bootstrapped)
        log.append([
            Entry(index: bootstrapped.next, term: Term(1), payload: .command([1])),
            Entry(index: bootstrapped.next.next, term: Term(1), payload: .command([2])),
        ])
        let applied = log.lastIndex

        var node = RaftNode(configuration: RaftConfiguration(replica: ReplicaID(2)), storage: log, appliedIndex: applied)
        XCTAssertEqual(node.appliedIndex, applied)
        XCTAssertGreaterThanOrEqual(node.commitIndex, applied)
        if node.hasReady {
            let ready = node.ready()
            XCTAssertEqual(ready.committedEntries.map(\.index), [], "entries the durable state machine holds are handed out again")
        }
    }

    func testAppliedIndexIsStillBoundedByTheLog() {
        let log = MemoryRaftLog(bootstrap: Membership(voters: [ReplicaID(1)]))
        let node = RaftNode(configuration: RaftConfiguration(replica: ReplicaID(1)), storage: log, appliedIndex: LogIndex(1_000))
        XCTAssertEqual(node.appliedIndex, log.lastIndex)
        XCTAssertEqual(node.commitIndex, log.lastIndex)
    }
}
