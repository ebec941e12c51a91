import Foundation

/// Watches every shard's voter count in the background (each shard's `STATUS` through the
/// given hosts in turn) and keeps the fewest seen per shard, so that a test can show a shard
/// never dropped below its replica count while its replicas moved. Only leaders' answers
/// count: the leader holds the shard's membership as the shard goes by, while a new observer
/// answers with no members at all until the log reaches it. Answers that are errors or
/// missing (a host down) are skipped.
final class VoterCountMonitor: @unchecked Sendable {
    private let lock = NSLock()
    private var fewest: [Int: (count: Int, line: String)] = [:]
    private var samples = 0
    private var stopping = false
    private let finished = DispatchGroup()
    private let ports: [Int]
    private let shards: Int

    init(ports: [Int], shards: Int) {
        self.ports = ports
        self.shards = shards
    }

    func start() {
        finished.enter()
        Thread { [self] in
            var turn = 0
            while !isStopping {
                for shard in 1...shards {
                    turn += 1
                    guard let client = LineClient(port: ports[turn % ports.count], timeoutSeconds: 5) else { continue }
                    let answer = client.call("STATUS \(shard)")
                    client.close()
                    guard let answer, answer.hasPrefix("shard="), statusFields(answer)["role"] == "leader" else { continue }
                    let count = idList(statusFields(answer)["voters"]).count
                    lock.lock()
                    samples += 1
                    if count < (fewest[shard]?.count ?? .max) { fewest[shard] = (count, answer) }
                    lock.unlock()
                }
            }
            finished.leave()
        }.start()
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        _ = finished.wait(timeout: .now() + 30)
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// Each shard's fewest voters seen, with the line that showed it.
    var fewestVoters: [Int: (count: Int, line: String)] {
        lock.lock()
        defer { lock.unlock() }
        return fewest
    }

    var sampleCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return samples
    }
}
