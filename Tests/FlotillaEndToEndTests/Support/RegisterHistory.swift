import Dispatch
import Foundation

/// Clients running in the background against a few shared keys, each `PUT`ting values never
/// written before and `GET`ting, every operation recorded with the times it was sent and
/// answered: a history to check for linearizability, per key, as a read/write register.
///
/// A write answered `OK` took effect within its interval; one answered `NO_LEADER`, `BUSY` or
/// `SHUTTING_DOWN` never took effect (SPEC's promise); one answered `TIMEOUT` or cut off may or
/// may not have, at any time after it was sent. A read that failed took no effect and is
/// dropped.
final class RegisterHistory: @unchecked Sendable {
    struct Operation {
        var key: String
        var isWrite: Bool
        /// The value written, or read (nil: `NOT_FOUND`).
        var value: String?
        var sentNanoseconds: UInt64
        /// nil: the outcome is unknown (it may take effect any time after it was sent).
        var answeredNanoseconds: UInt64?
        /// A write that certainly never took effect.
        var notApplied = false
    }

    private let lock = NSLock()
    private var operations: [Operation] = []
    private var stopping = false
    private let finished = DispatchGroup()
    private var ports: [Int]
    let keys: [String]
    let clientCount: Int

    init(ports: [Int], keys: [String], clientCount: Int) {
        self.ports = ports
        self.keys = keys
        self.clientCount = clientCount
    }

    /// A history given whole, to check the checker.
    init(recorded: [Operation]) {
        ports = [0]
        keys = []
        clientCount = 0
        operations = recorded
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func start() {
        for client in 0..<clientCount {
            finished.enter()
            Thread { [self] in
                run(client: client)
                finished.leave()
            }.start()
        }
    }

    func setPorts(_ new: [Int]) {
        lock.lock()
        ports = new
        lock.unlock()
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        _ = finished.wait(timeout: .now() + 30)
    }

    var history: [Operation] {
        lock.lock()
        defer { lock.unlock() }
        return operations
    }

    var acknowledgedWrites: Int { history.filter { $0.isWrite && $0.answeredNanoseconds != nil && !$0.notApplied }.count }
    var reads: Int { history.filter { !$0.isWrite }.count }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func port(_ index: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return ports[index % ports.count]
    }

    private func record(_ operation: Operation) {
        lock.lock()
        operations.append(operation)
        lock.unlock()
    }

    private func run(client: Int) {
        var hostIndex = client
        var connection: LineClient?
        var number = 0
        var random = SystemRandomNumberGenerator()
        while !isStopping {
            if connection == nil {
                connection = LineClient(port: port(hostIndex), timeoutSeconds: 15)
                if connection == nil {
                    hostIndex += 1
                    Thread.sleep(forTimeInterval: 0.05)
                    continue
                }
            }
            let key = keys[Int(random.next() % UInt64(keys.count))]
            let isWrite = random.next() % 2 == 0
            number += 1
            let value = "c\(client)-\(number)"
            let sent = Self.now()
            let answer = connection!.call(isWrite ? "PUT \(key) \(value)" : "GET \(key)")
            let answered = Self.now()
            if isWrite {
                var operation = Operation(key: key, isWrite: true, value: value, sentNanoseconds: sent, answeredNanoseconds: answered)
                if answer == "OK" {
                } else if let answer, ["ERR NO_LEADER", "ERR BUSY", "ERR SHUTTING_DOWN"].contains(where: { answer.hasPrefix($0) }) {
                    operation.notApplied = true
                } else {
                    operation.answeredNanoseconds = nil
                }
                record(operation)
            } else if let answer, answer == "NOT_FOUND" || answer.hasPrefix("VALUE ") {
                record(Operation(key: key, isWrite: false, value: answer == "NOT_FOUND" ? nil : String(answer.dropFirst(6)),
                                 sentNanoseconds: sent, answeredNanoseconds: answered))
            }
            if answer == nil || answer!.hasPrefix("ERR SHUTTING_DOWN") {
                connection!.close()
                connection = nil
                hostIndex += 1
            } else if answer!.hasPrefix("ERR") {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        connection?.close()
    }

    /// Reads every key once through `port` and records the reads (the history's last word on
    /// each key); false when the host could not be asked.
    func readEveryKey(port: Int) -> Bool {
        guard let client = LineClient(port: port, timeoutSeconds: 15) else { return false }
        defer { client.close() }
        for key in keys {
            let sent = Self.now()
            guard let answer = client.call("GET \(key)"), answer == "NOT_FOUND" || answer.hasPrefix("VALUE ") else { return false }
            record(Operation(key: key, isWrite: false, value: answer == "NOT_FOUND" ? nil : String(answer.dropFirst(6)),
                             sentNanoseconds: sent, answeredNanoseconds: Self.now()))
        }
        return true
    }

    /// What the history shows that no linearizable register could (empty: nothing). Checked
    /// per key, values being unique, with these necessary conditions:
    /// - a read returns a value some write sent before the read was answered, not one that
    ///   certainly never took effect;
    /// - a read does not return a value overwritten before it was sent (another write, sent
    ///   after the first was acknowledged, was acknowledged before the read was sent), nor
    ///   `NOT_FOUND` once some write was acknowledged before it was sent;
    /// - reads in real-time order do not go back: a read sent after another was answered does
    ///   not return a value the earlier read's value had overwritten (acknowledged before that
    ///   value's write was sent), nor `NOT_FOUND` after a value.
    func violations() -> [String] {
        var found: [String] = []
        let byKey = Dictionary(grouping: history, by: \.key)
        for (key, operations) in byKey {
            let writes = operations.filter(\.isWrite)
            let writeOf = Dictionary(writes.map { ($0.value!, $0) }, uniquingKeysWith: { first, _ in first })
            let acknowledged = writes.filter { $0.answeredNanoseconds != nil && !$0.notApplied }
            let reads = operations.filter { !$0.isWrite }.sorted { $0.sentNanoseconds < $1.sentNanoseconds }
            for read in reads {
                let readAnswered = read.answeredNanoseconds!
                guard let value = read.value else {
                    if let earlier = acknowledged.first(where: { $0.answeredNanoseconds! < read.sentNanoseconds }) {
                        found.append("\(key): NOT_FOUND read after \(earlier.value!) was acknowledged")
                    }
                    continue
                }
                guard let write = writeOf[value] else {
                    found.append("\(key): read \(value), which no client wrote")
                    continue
                }
                if write.notApplied { found.append("\(key): read \(value), whose write was refused (never applied)") }
                if write.sentNanoseconds > readAnswered { found.append("\(key): read \(value) before its write was sent") }
                if let writeAnswered = write.answeredNanoseconds,
                   let newer = acknowledged.first(where: { $0.sentNanoseconds > writeAnswered && $0.answeredNanoseconds! < read.sentNanoseconds }) {
                    found.append("\(key): read \(value), overwritten by \(newer.value!) before the read was sent")
                }
            }
            for (position, earlier) in reads.enumerated() {
                for later in reads[(position + 1)...] where earlier.answeredNanoseconds! < later.sentNanoseconds {
                    guard let earlierValue = earlier.value else { continue }
                    guard let laterValue = later.value else {
                        found.append("\(key): NOT_FOUND read after a read of \(earlierValue)")
                        continue
                    }
                    guard laterValue != earlierValue, let earlierWrite = writeOf[earlierValue], let laterWrite = writeOf[laterValue],
                          let laterWriteAnswered = laterWrite.answeredNanoseconds else { continue }
                    if laterWriteAnswered < earlierWrite.sentNanoseconds {
                        found.append("\(key): read \(laterValue) after a read of \(earlierValue), which overwrote it")
                    }
                }
            }
        }
        return found
    }
}
