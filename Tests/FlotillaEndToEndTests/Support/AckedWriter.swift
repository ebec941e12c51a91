import Foundation

/// Client writers running in the background, one thread per shard, each writing fresh keys of
/// its shard (`PUT <prefix>-s<shard>-<n> v<n>`) one at a time and recording every write that
/// was acknowledged `OK`. A broken connection moves the writer to the next host.
final class AckedWriter: @unchecked Sendable {
    private let lock = NSLock()
    private var acknowledged: [String: String] = [:]
    private var lastAcknowledgement: [Int: Date] = [:]
    private var unexpected: [String] = []
    private var errorCount = 0
    private var stopping = false
    private let finished = DispatchGroup()
    private var ports: [Int]
    let shards: Int
    let prefix: String

    init(ports: [Int], shards: Int, prefix: String) {
        self.ports = ports
        self.shards = shards
        self.prefix = prefix
    }

    /// Starts one writer per shard in `only` (every shard by default).
    func start(only: [Int]? = nil) {
        for shard in only ?? Array(1...shards) {
            finished.enter()
            let thread = Thread { [self] in
                run(shard: shard)
                finished.leave()
            }
            thread.start()
        }
    }

    /// Replaces the hosts the writers use (for connections made from now on).
    func setPorts(_ new: [Int]) {
        lock.lock()
        ports = new
        lock.unlock()
    }

    /// Stops the writers and waits for them (a request in flight may take its full timeout).
    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        _ = finished.wait(timeout: .now() + 30)
    }

    var writes: [String: String] {
        lock.lock()
        defer { lock.unlock() }
        return acknowledged
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return acknowledged.count
    }

    var unexpectedAnswers: [String] {
        lock.lock()
        defer { lock.unlock() }
        return unexpected
    }

    /// Whether `shard` had a write acknowledged after `date`.
    func acknowledged(shard: Int, after date: Date) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return (lastAcknowledgement[shard] ?? .distantPast) > date
    }

    func lastAcknowledged(shard: Int) -> Date? {
        lock.lock()
        defer { lock.unlock() }
        return lastAcknowledgement[shard]
    }

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

    private func run(shard: Int) {
        var hostIndex = shard
        var client: LineClient?
        var number = 0
        while !isStopping {
            let key = nextKey(shard: shard, number: &number)
            let value = "v\(number)-\(shard)"
            if client == nil {
                client = LineClient(port: port(hostIndex), timeoutSeconds: 15)
                if client == nil {
                    hostIndex += 1
                    Thread.sleep(forTimeInterval: 0.05)
                    continue
                }
            }
            guard let answer = client!.call("PUT \(key) \(value)") else {
                // Connection lost (host killed or stopping): the outcome is unknown.
                client!.close()
                client = nil
                hostIndex += 1
                continue
            }
            lock.lock()
            if answer == "OK" {
                acknowledged[key] = value
                lastAcknowledgement[shard] = Date()
            } else if ["ERR NO_LEADER", "ERR TIMEOUT", "ERR BUSY", "ERR SHUTTING_DOWN"].contains(where: { answer.hasPrefix($0) }) {
                errorCount += 1
            } else {
                unexpected.append("PUT \(key): \(answer)")
            }
            lock.unlock()
            if answer != "OK" {
                Thread.sleep(forTimeInterval: 0.02)
                if answer.hasPrefix("ERR SHUTTING_DOWN") {
                    client!.close()
                    client = nil
                    hostIndex += 1
                }
            }
        }
        client?.close()
    }

    private func nextKey(shard: Int, number: inout Int) -> String {
        while true {
            number += 1
            let key = "\(prefix)-\(number)"
            if shardOf(key, shards: shards) == shard { return key }
        }
    }
}
