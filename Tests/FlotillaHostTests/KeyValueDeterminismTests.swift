import FlotillaHost
import FlotillaRaft
import XCTest

/// Replicas agree: state machines applying the same seeded sequence of timed entries (every
/// command, times moving forward and sometimes back, sweeps of due keys) end up with the same
/// values and expiries, whatever reads, sweep takings and requeues one of them does in between,
/// and whether an entry is applied directly or after an encode/decode round trip.
final class KeyValueDeterminismTests: XCTestCase {
    func testSameEntriesSameState() throws {
        for seed in UInt64(1)...20 {
            var random = SeededRandom(seed: seed)
            var plain = KeyValueStateMachine()
            var busy = KeyValueStateMachine()
            var time: UInt64 = 1_000
            let keys = (0..<12).map { Array("key\($0)".utf8) }
            func key() -> [UInt8] { keys[Int(random.next() % UInt64(keys.count))] }
            var results: [KeyValueResult] = []
            var busyResults: [KeyValueResult] = []
            for _ in 0..<2_000 {
                // Mostly forward; a leader change may bring an earlier clock.
                time = random.next() % 10 == 0 ? time - min(time, random.next() % 50) : time + random.next() % 40
                let command: KeyValueCommand
                switch random.next() % 10 {
                case 0: command = .put(key: key(), value: Array("\(random.next() % 100)".utf8))
                case 1: command = .delete(key: key())
                case 2:
                    let expiry: ExpiryChange = [.clear, .keep, .after(milliseconds: Int64(random.next() % 200) - 20),
                                                .at(unixMilliseconds: time + random.next() % 200)][Int(random.next() % 4)]
                    command = .set(key: key(), value: Array("\(random.next() % 100)".utf8),
                                   condition: [.always, .ifAbsent, .ifPresent][Int(random.next() % 3)], expiry: expiry, returnsPrevious: random.next() % 2 == 0)
                case 3: command = .increment(key: key(), delta: Int64(random.next() % 21) - 10)
                case 4: command = .append(key: key(), suffix: Array("x".utf8))
                case 5: command = .expire(key: key(), expiry: .after(milliseconds: Int64(random.next() % 300) - 50))
                case 6: command = .persist(key: key())
                case 7: command = .compareAndSet(key: key(), expected: Array("\(random.next() % 100)".utf8), new: Array("c".utf8))
                default:
                    // The leader (here the busy one) proposes a sweep of what it finds due.
                    let due = busy.takeDueExpiries(at: time, limit: Int(1 + random.next() % 5))
                    if random.next() % 3 == 0 {
                        busy.requeue(due)
                        command = .sweep(keys: [key()])
                    } else {
                        command = .sweep(keys: due)
                    }
                }
                let entry = KeyValueEntry(timeMilliseconds: time, command: command)
                results.append(plain.apply(entry.command, at: entry.timeMilliseconds))
                let decoded = try KeyValueEntry(decoding: entry.encoded())
                busyResults.append(busy.apply(decoded.command, at: decoded.timeMilliseconds))
                // Reads on the busy one, at its own clock.
                let now = time + random.next() % 100
                _ = busy.value(for: key(), at: now)
                _ = busy.timeToLive(of: key(), at: now)
                _ = busy.keys(from: random.next() % ScanOrder.positionEnd, limit: Int(random.next() % 5), at: now)
                _ = busy.answer(.count, at: now)
                _ = busy.nextExpiryMilliseconds
            }
            XCTAssertEqual(results, busyResults, "seed \(seed): same answers")
            XCTAssertEqual(plain.values, busy.values, "seed \(seed)")
            XCTAssertEqual(plain.expiries, busy.expiries, "seed \(seed)")
            XCTAssertEqual(plain.dataBytes, busy.dataBytes, "seed \(seed)")
            XCTAssertEqual(plain.dataBytes, plain.values.reduce(0) { $0 + $1.key.count + $1.value.count }, "seed \(seed)")
            XCTAssertFalse(plain.expiries.isEmpty && plain.values.isEmpty, "seed \(seed): the sequence left something to compare")
        }
    }
}
