@testable import FlotillaServer
import XCTest

/// `--rate`: when each request is due, and that latency counts from then.
final class OpenLoopScheduleTests: XCTestCase {
    /// 1,000 requests/s over 4 connections: the run's requests are 1 ms apart, dealt in turn.
    func testRequestsAreEvenlySpacedOverTheConnections() {
        var dueTimes: [UInt64] = []
        for connection in 0..<4 {
            var schedule = OpenLoopSchedule(connectionIndex: connection, connectionCount: 4, ratePerSecond: 1_000,
                                            startNanoseconds: 5_000, endNanoseconds: nil, totalOperations: 10)
            while let due = schedule.nextDueNanoseconds {
                dueTimes.append(due)
                schedule.advance()
            }
        }
        XCTAssertEqual(dueTimes.sorted(), (0..<10).map { 5_000 + UInt64($0) * 1_000_000 })
    }

    func testSharesOfTheOperations() {
        let shares = (0..<4).map {
            OpenLoopSchedule(connectionIndex: $0, connectionCount: 4, ratePerSecond: 1, startNanoseconds: 0, endNanoseconds: nil,
                             totalOperations: 6).limit
        }
        XCTAssertEqual(shares, [2, 2, 1, 1])
        let fewerThanConnections = OpenLoopSchedule(connectionIndex: 3, connectionCount: 4, ratePerSecond: 1, startNanoseconds: 0,
                                                    endNanoseconds: nil, totalOperations: 2)
        XCTAssertTrue(fewerThanConnections.isFinished)
    }

    /// With `--duration`, nothing is due at or after the end.
    func testNothingIsDueAfterTheEnd() {
        var schedule = OpenLoopSchedule(connectionIndex: 0, connectionCount: 1, ratePerSecond: 10, startNanoseconds: 0,
                                        endNanoseconds: 300_000_000, totalOperations: nil)
        var count = 0
        while schedule.nextDueNanoseconds != nil {
            schedule.advance()
            count += 1
        }
        XCTAssertEqual(count, 3, "due at 0, 100 and 200 ms")
    }

    func testAStoppedScheduleHasNothingDue() {
        var schedule = OpenLoopSchedule(connectionIndex: 0, connectionCount: 1, ratePerSecond: 10, startNanoseconds: 0,
                                        endNanoseconds: nil, totalOperations: nil)
        XCTAssertEqual(schedule.nextDueNanoseconds, 0)
        schedule.stop()
        XCTAssertTrue(schedule.isFinished)
    }

    /// Requests due at 0, 10 and 20 answered together at 1,000: each latency counts from its due
    /// time, so the wait before the answers is in every one of them.
    func testLatencyCountsFromTheScheduledTime() {
        var connection = LoadConnection(socket: -1, name: "test", seed: 1)
        var output: [UInt8] = []
        let options = LoadGenerator.Options(addresses: [("127.0.0.1", 1)])
        for due in [0, 10, 20] as [UInt64] {
            connection.appendRequest(to: &output, options: options, value: [], countFrom: due)
        }
        var latencies: [UInt64] = []
        let understood = Array("OK\nOK\nERR NO_LEADER x\n".utf8).withUnsafeBytes { bytes in
            connection.receive(bytes, now: 1_000) { latency, isError in latencies.append(isError ? 0 : latency) }
        }
        XCTAssertTrue(understood)
        XCTAssertEqual(latencies, [1_000, 990, 0])
        XCTAssertEqual(connection.outstanding, 0)
    }

    /// In redis mode the connection sends RESP and splits RESP answers fed one byte at a time.
    func testRedisConnectionByteByByte() {
        var connection = LoadConnection(socket: -1, name: "test", seed: 1, loadProtocol: .redis)
        var output: [UInt8] = []
        var options = LoadGenerator.Options(addresses: [("127.0.0.1", 1)])
        options.keyCount = 1
        options.keyPrefix = "p:"
        connection.appendRequest(to: &output, options: options, value: Array("ab".utf8), countFrom: 0)
        options.readFraction = 1
        connection.appendRequest(to: &output, options: options, value: [], countFrom: 0)
        connection.appendRequest(to: &output, options: options, value: [], countFrom: 0)
        XCTAssertEqual(String(decoding: output, as: UTF8.self),
                       "*3\r\n$3\r\nSET\r\n$3\r\np:0\r\n$2\r\nab\r\n" + String(repeating: "*2\r\n$3\r\nGET\r\n$3\r\np:0\r\n", count: 2))
        var answers: [Bool] = []
        for byte in Array("+OK\r\n$2\r\nab\r\n-ERR busy\r\n".utf8) {
            let understood = [byte].withUnsafeBytes { bytes in connection.receive(bytes, now: 5) { _, isError in answers.append(isError) } }
            XCTAssertTrue(understood)
        }
        XCTAssertEqual(answers, [false, false, true])
        let garbage = Array("?\r\n".utf8).withUnsafeBytes { bytes in connection.receive(bytes, now: 5) { _, _ in } }
        XCTAssertFalse(garbage, "a stream that is not RESP is refused")
    }
}
