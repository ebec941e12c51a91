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
        /// Threads driving the connections (each an epoll loop over its share of them).
        public var threads = 2
        /// Keys are this prefix followed by a number below `keyCount`.
        public var keyPrefix = "key-"
        var keyPrefixBytes: [UInt8] { Array(keyPrefix.utf8) }

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
        let threadCount = max(1, min(options.threads, options.connections))
        var assignments = [[(connection: Int, address: (host: String, port: Int))]](repeating: [], count: threadCount)
        for connection in 0..<options.connections {
            assignments[connection % threadCount].append((connection, options.addresses[connection % options.addresses.count]))
        }
        let finished = DispatchGroup()
        for (position, assigned) in assignments.enumerated() {
            finished.enter()
            let options = self.options
            let thread = Thread {
                Self.drive(assigned, options: options, deadline: deadline, shared: shared)
                finished.leave()
            }
            thread.name = "flotilla-bench-\(position)"
            thread.stackSize = 1 << 20
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
    /// One thread's share of the connections, in one poll(2) loop: each answer read is timed,
    /// and replaced by a new request while the run lasts, so each connection keeps
    /// `pipelineDepth` requests in flight. A thread's requests on one connection go out in one
    /// write per wake-up; the sockets stay blocking (writes of a few lines never block in
    /// practice) and are only read when poll says they are readable.
    static func drive(_ assigned: [(connection: Int, address: (host: String, port: Int))], options: Options, deadline: Date?,
                      shared: Shared) {
        let deadlineNanoseconds = deadline.map { DispatchTime.now().uptimeNanoseconds + UInt64(max(0, $0.timeIntervalSinceNow) * 1e9) }
        var connections: [LoadConnection] = []
        for (connection, address) in assigned {
            guard let socket = connect(address.host, address.port) else {
                shared.failures.withLock { $0.append("cannot connect to \(address.host):\(address.port)") }
                continue
            }
            connections.append(LoadConnection(socket: socket, name: "connection \(connection)",
                                              seed: UInt64(connection + 1) &* 0x9E37_79B9_7F4A_7C15 ^ DispatchTime.now().uptimeNanoseconds))
        }
        defer { for connection in connections { close(connection.socket) } }
        let value = [UInt8](repeating: UInt8(ascii: "v"), count: options.valueSizeBytes)
        var latencies: [UInt32] = []
        latencies.reserveCapacity(1 << 16)
        var output: [UInt8] = []
        output.reserveCapacity(1 << 12)

        func mayIssue(_ now: UInt64) -> Bool {
            if shared.stop.load(ordering: .relaxed) { return false }
            if let deadlineNanoseconds, now >= deadlineNanoseconds { return false }
            if let limit = options.operations {
                return shared.issued.add(1, ordering: .relaxed).newValue <= limit
            }
            return true
        }

        func refill(_ position: Int, now: UInt64) {
            while connections[position].isOpen && connections[position].outstanding < options.pipelineDepth && mayIssue(now) {
                connections[position].appendRequest(to: &output, options: options, value: value, now: now)
            }
            guard !output.isEmpty else { return }
            if !writeAll(connections[position].socket, output) {
                shared.errors.add(connections[position].closed(), ordering: .relaxed)
            }
            output.removeAll(keepingCapacity: true)
        }

        let started = DispatchTime.now().uptimeNanoseconds
        for position in connections.indices { refill(position, now: started) }
        var descriptors = connections.map { pollfd(fd: $0.socket, events: Int16(POLLIN), revents: 0) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while connections.contains(where: { $0.isOpen && $0.outstanding > 0 }) {
            let ready = poll(&descriptors, nfds_t(descriptors.count), 200)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            for position in descriptors.indices where descriptors[position].revents != 0 {
                descriptors[position].revents = 0
                guard connections[position].isOpen else { continue }
                let count = chunk.withUnsafeMutableBytes { recv(connections[position].socket, $0.baseAddress, $0.count, 0) }
                let now = DispatchTime.now().uptimeNanoseconds
                if count <= 0 {
                    let lost = connections[position].closed()
                    if lost > 0 {
                        shared.failures.withLock { $0.append("\(connections[position].name) closed by the server") }
                        shared.errors.add(lost, ordering: .relaxed)
                    }
                    descriptors[position].fd = -1
                    continue
                }
                var completed = 0
                var errors = 0
                chunk.withUnsafeBytes { bytes in
                    connections[position].receive(UnsafeRawBufferPointer(rebasing: bytes[0..<count]), now: now) { latency, isError in
                        completed += 1
                        if isError {
                            errors += 1
                        } else {
                            latencies.append(UInt32(min(latency / 1000, UInt64(UInt32.max))))
                        }
                    }
                }
                if completed > 0 { shared.completed.add(completed, ordering: .relaxed) }
                if errors > 0 { shared.errors.add(errors, ordering: .relaxed) }
                refill(position, now: now)
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
