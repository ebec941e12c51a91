@testable import FlotillaLogStore
import Synchronization
import XCTest

/// The commit observer is called once per write transaction for the life of a host. Held as a
/// bare closure in a `Mutex`, it was wrapped in one more reabstraction thunk at every call: the
/// n-th call ran n thunks deep, the writer spent a fifth of its time in them within a minute of
/// load, and a few hundred thousand transactions overflow the stack. This runs that many.
final class LogStoreStatisticsTests: XCTestCase {
    func testTheCommitObserverStaysOneCallDeepOverManyTransactions() {
        let statistics = LogStoreStatistics()
        let observed = Atomic<UInt64>(0)
        statistics.observeCommits { _ in observed.wrappingAdd(1, ordering: .relaxed) }
        let transactions: UInt64 = 400_000
        for _ in 0..<transactions {
            statistics.recordCommit(startedNanoseconds: LogStoreStatistics.monotonicNanoseconds())
        }
        XCTAssertEqual(observed.load(ordering: .relaxed), transactions)
        XCTAssertEqual(statistics.syncs.load(ordering: .relaxed), transactions)
    }
}
