import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `flotilla bench`: a load generator for the line protocol. Each connection runs on a thread
/// of its own with blocking sockets and keeps `pipelineDepth` requests in flight; latency is
/// measured per request from send to answer.
public struct LoadGenerator: Sendable {
    public struct Options: Sendable {
        public var addresses: [(host: String, port: Int)]
        public var connections = 64
        public var pipelineDepth = 1
        public var keyCount = 10_000
        public var valueSizeBytes = 16
        public var readFraction = 0.0
        public var stale = false
        public var durationSeconds: Double?
        public var operations: Int?

        public init(addresses: [(host: String, port: Int)]) { self.addresses = addresses }
    }

    public struct Result: Sendable {
        public var operations: Int
        public var errors: Int
        public var seconds: Double
        public var p50Milliseconds: Double
        public var p99Milliseconds: Double
        public var p999Milliseconds: Double

        public var operationsPerSecond: Double { seconds > 0 ? Double(operations) / seconds : 0 }

        /// The last line `flotilla bench` prints.
        public var summaryLine: String {
            String(format: "ops/s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f errors=%d",
                   operationsPerSecond, p50Milliseconds, p99Milliseconds, p999Milliseconds, errors)
        }
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    final class Shared: Sendable {
        let completed = Atomic<Int>(0)
        let errors = Atomic<Int>(0)
        let issued = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let latencies = Mutex<[[UInt32]]>([])
        let failures = Mutex<[String]>([])
    }

    /// Runs the load; `progress` gets a line about once a second.
    public func run(progress: @escaping @Sendable (String) -> Void) throws -> Result {
        guard !options.addresses.isEmpty, options.connections > 0, options.pipelineDepth > 0 else {
            throw LoadGeneratorError.invalid("need at least one address, one connection and a pipeline depth of at least one")
        }
        let shared = Shared()
        let started = Date()
        let deadline = options.durationSeconds.map { started.addingTimeInterval($0) }
        var threads: [Thread] = []
        let finished = DispatchGroup()
        for connection in 0..<options.connections {
            let address = options.addresses[connection % options.addresses.count]
            finished.enter()
            let options = self.options
            let thread = Thread {
                Self.drive(connection: connection, address: address, options: options, deadline: deadline, shared: shared)
                finished.leave()
            }
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
        var lastCompleted = 0
        var lastTime = Date()
        while finished.wait(timeout: .now() + 1) == .timedOut {
            let now = Date()
            let completed = shared.completed.load(ordering: .relaxed)
            let rate = Double(completed - lastCompleted) / now.timeIntervalSince(lastTime)
            progress(String(format: "%5.0fs  %d ops  %.0f ops/s  %d errors", now.timeIntervalSince(started), completed, rate,
                            shared.errors.load(ordering: .relaxed)))
            lastCompleted = completed
            lastTime = now
        }
        let seconds = Date().timeIntervalSince(started)
        if let failure = shared.failures.withLock({ $0.first }), shared.completed.load(ordering: .relaxed) == 0 {
            throw LoadGeneratorError.connection(failure)
        }
        var all = shared.latencies.withLock { $0.flatMap { $0 } }
        all.sort()
        /// Nearest rank: the smallest latency that at least `fraction` of the answers beat or met.
        func percentile(_ fraction: Double) -> Double {
            guard !all.isEmpty else { return 0 }
            let rank = Int((Double(all.count) * fraction).rounded(.up))
            return Double(all[min(all.count - 1, max(0, rank - 1))]) / 1000
        }
        return Result(operations: shared.completed.load(ordering: .relaxed), errors: shared.errors.load(ordering: .relaxed),
                      seconds: seconds, p50Milliseconds: percentile(0.5), p99Milliseconds: percentile(0.99),
                      p999Milliseconds: percentile(0.999))
    }

    /// One connection's loop: keep `pipelineDepth` requests outstanding until done.
    static func drive(connection: Int, address: (host: String, port: Int), options: Options, deadline: Date?, shared: Shared) {
        guard let socket = connect(address.host, address.port) else {
            shared.failures.withLock { $0.append("cannot connect to \(address.host):\(address.port)") }
            return
        }
        defer { close(socket) }
        var random = SystemRandomNumberGenerator()
        var sentAt: [UInt64] = []
        sentAt.reserveCapacity(options.pipelineDepth)
        var head = 0
        var latencies: [UInt32] = []
        latencies.reserveCapacity(1 << 16)
        var reader = SocketLineReader(socket: socket)
        let value = [UInt8](repeating: UInt8(ascii: "v"), count: options.valueSizeBytes)

        func mayIssue() -> Bool {
            if shared.stop.load(ordering: .relaxed) { return false }
            if let deadline, Date() >= deadline { return false }
            if let limit = options.operations {
                return shared.issued.add(1, ordering: .relaxed).newValue <= limit
            }
            return true
        }

        func send() -> Bool {
            let key = Array("key-\(Int.random(in: 0..<max(1, options.keyCount), using: &random))".utf8)
            var line: [UInt8]
            if Double.random(in: 0..<1, using: &random) < options.readFraction {
                line = Array((options.stale ? "STALE-GET " : "GET ").utf8) + key
            } else {
                line = Array("PUT ".utf8) + key + [UInt8(ascii: " ")] + value
            }
            line.append(UInt8(ascii: "\n"))
            sentAt.append(DispatchTime.now().uptimeNanoseconds)
            return writeAll(socket, line)
        }

        var outstanding = 0
        while outstanding < options.pipelineDepth && mayIssue() {
            guard send() else { return }
            outstanding += 1
        }
        while outstanding > 0 {
            guard let line = reader.readLine() else {
                shared.failures.withLock { $0.append("connection \(connection) closed by the server") }
                shared.errors.add(outstanding, ordering: .relaxed)
                break
            }
            let now = DispatchTime.now().uptimeNanoseconds
            let elapsed = now - sentAt[head]
            head += 1
            if head > 4096 {
                sentAt.removeFirst(head)
                head = 0
            }
            outstanding -= 1
            if line.starts(with: Array("ERR".utf8)) {
                shared.errors.add(1, ordering: .relaxed)
            } else {
                latencies.append(UInt32(min(elapsed / 1000, UInt64(UInt32.max))))
            }
            shared.completed.add(1, ordering: .relaxed)
            if mayIssue() {
                guard send() else { break }
                outstanding += 1
            }
        }
        let collected = latencies
        shared.latencies.withLock { $0.append(collected) }
    }

    /// A blocking TCP connection (name resolved here), or nil.
    public static func connect(_ host: String, _ port: Int) -> Int32? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            let socket = Glibc.socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
            if socket >= 0 {
                if Glibc.connect(socket, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
                    var one: Int32 = 1
                    setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    return socket
                }
                close(socket)
            }
            entry = current.pointee.ai_next
        }
        return nil
    }

    public static func writeAll(_ socket: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }
}
