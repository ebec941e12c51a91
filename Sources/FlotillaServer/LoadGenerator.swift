import Foundation
import Histogram
import NIOSSL
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `flotilla bench`: a load generator for the line protocol and for RESP2. A few threads each
/// drive a share of the connections with blocking sockets in one poll loop. In closed-loop load
/// each connection keeps `pipelineDepth` requests in flight and latency is measured from send
/// to answer; with `ratePerSecond` requests go out on a fixed schedule whatever the answers,
/// and latency counts from each request's scheduled time (`OpenLoopSchedule`). Latencies go
/// into an HdrHistogram, so the percentiles of a long run cost a fixed amount of memory.
public struct LoadGenerator: Sendable {
    public struct Options: Sendable {
        public var addresses: [(host: String, port: Int)]
        public var connections = 64
        /// Requests in flight on each connection (closed-loop load only).
        public var pipelineDepth = 1
        public var keyCount = 10_000
        public var valueSizeBytes = 16
        public var readFraction = 0.0
        public var stale = false
        public var durationSeconds: Double?
        public var operations: Int?
        /// Threads driving the connections (each a poll loop over its share of them).
        public var threads = 2
        /// Keys are this prefix followed by a number below `keyCount`.
        public var keyPrefix = "key-"
        /// Open-loop load: requests per second over all connections, sent on schedule whatever the answers.
        public var ratePerSecond: Double?
        public var loadProtocol = LoadProtocol.line
        /// Keys in order instead of at random: connection `i` of `n` takes keys `i`, `i + n`, ...
        /// (below `keyCount`), so `operations == keyCount` writes every key once (loading data).
        public var sequential = false
        /// Once no more requests are due, how long to wait for the answers still outstanding;
        /// those that never come are counted as errors, so a server that stops answering does
        /// not hang the run.
        public var drainTimeoutSeconds = 10.0
        /// The client TLS context for `--client-tls` hosts (`--tls-ca`, `--tls-cert`, `--tls-key`);
        /// nil: plain TCP.
        public var tls: NIOSSLContext?
        /// `--direct`: send each request straight to its shard's leader's host, as `ROUTES`
        /// tells and leader hints correct (`DirectLoadThread`); closed loop, line protocol only.
        public var direct = false
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
        /// `--direct` only: answers that carried a leader hint (the request was relayed after
        /// all), and how many times the routes were fetched.
        public var hintedAnswers = 0
        public var routeRefreshes = 0

        public var operationsPerSecond: Double { seconds > 0 ? Double(operations) / seconds : 0 }

        /// The last line `flotilla bench` prints; scripts parse it, so its shape stays.
        public var summaryLine: String {
            String(format: "ops/s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f errors=%d",
                   operationsPerSecond, p50Milliseconds, p99Milliseconds, p999Milliseconds, errors)
        }

        /// With `--direct`, the line printed before the summary: how direct the run was.
        public var directLine: String {
            "direct: answers=\(operations) errors=\(errors) hinted=\(hintedAnswers) route_refreshes=\(routeRefreshes)"
        }
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    /// Latencies in nanoseconds, from 1 µs to an hour, to 3 significant digits.
    static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: highestLatencyNanoseconds,
                          numberOfSignificantValueDigits: .three)
    }

    static let highestLatencyNanoseconds: UInt64 = 3_600_000_000_000

    final class Shared: Sendable {
        let completed = Atomic<Int>(0)
        let errors = Atomic<Int>(0)
        let issued = Atomic<Int>(0)
        let latencies = Mutex<Histogram<UInt64>>(LoadGenerator.makeHistogram())
        let failures = Mutex<[String]>([])
        let hintedAnswers = Atomic<Int>(0)
    }

    /// Runs the load; `progress` gets a line about once a second.
    public func run(progress: @escaping @Sendable (String) -> Void) throws -> Result {
        guard !options.addresses.isEmpty, options.connections > 0, options.pipelineDepth > 0 else {
            throw LoadGeneratorError.invalid("need at least one address, one connection and a pipeline depth of at least one")
        }
        if let rate = options.ratePerSecond, !(rate > 0 && rate.isFinite) {
            throw LoadGeneratorError.invalid("the rate must be a positive number of requests per second")
        }
        if options.loadProtocol == .redis && options.stale {
            throw LoadGeneratorError.invalid("stale reads exist only in the line protocol")
        }
        if options.direct && (options.loadProtocol != .line || options.ratePerSecond != nil) {
            throw LoadGeneratorError.invalid("--direct runs closed-loop line-protocol load only (no --protocol redis, no --rate)")
        }
        let shared = Shared()
        let directory = options.direct ? RouteDirectory(seeds: options.addresses, tls: options.tls) : nil
        if let directory {
            guard directory.refresh() else {
                throw LoadGeneratorError.connection("--direct: no host of --addr answered ROUTES")
            }
            directory.start()
        }
        defer { directory?.stop() }
        let started = Date()
        let startNanoseconds = DispatchTime.now().uptimeNanoseconds
        let deadlineNanoseconds = options.durationSeconds.map { startNanoseconds + UInt64(max(0, $0) * 1e9) }
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
                if let directory {
                    var driver = DirectLoadThread(clients: assigned.map(\.connection), options: options, directory: directory, shared: shared,
                                                  deadlineNanoseconds: deadlineNanoseconds)
                    driver.run()
                } else {
                    Self.drive(assigned, options: options, startNanoseconds: startNanoseconds, deadlineNanoseconds: deadlineNanoseconds,
                               shared: shared)
                }
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
        let histogram = shared.latencies.withLock { $0 }
        func percentile(_ percent: Double) -> Double {
            histogram.totalCount == 0 ? 0 : Double(histogram.valueAtPercentile(percent)) / 1e6
        }
        var result = Result(operations: shared.completed.load(ordering: .relaxed), errors: shared.errors.load(ordering: .relaxed),
                            seconds: seconds, p50Milliseconds: percentile(50), p99Milliseconds: percentile(99),
                            p999Milliseconds: percentile(99.9))
        result.hintedAnswers = shared.hintedAnswers.load(ordering: .relaxed)
        result.routeRefreshes = directory?.refreshes.load(ordering: .relaxed) ?? 0
        return result
    }

    /// One thread's share of the connections, in one poll(2) loop. Closed loop: each answer
    /// read is timed and replaced by a new request while the run lasts, so each connection
    /// keeps `pipelineDepth` requests in flight. Open loop: whatever is due by now is sent, and
    /// the poll wakes at the next due time. A thread's requests on one connection go out in one
    /// write per wake-up; the sockets stay blocking (writes of a few requests never block in
    /// practice; if one does, the requests due meanwhile still count from their due times).
    static func drive(_ assigned: [(connection: Int, address: (host: String, port: Int))], options: Options,
                      startNanoseconds: UInt64, deadlineNanoseconds: UInt64?, shared: Shared) {
        var connections: [LoadConnection] = []
        var schedules: [OpenLoopSchedule] = []
        for (connection, address) in assigned {
            let socket: Int32
            do {
                socket = try connect(address.host, address.port, tls: options.tls)
            } catch {
                shared.failures.withLock { $0.append("\(error)") }
                continue
            }
            connections.append(LoadConnection(socket: socket, name: "connection \(connection)",
                                              seed: UInt64(connection + 1) &* 0x9E37_79B9_7F4A_7C15 ^ DispatchTime.now().uptimeNanoseconds,
                                              loadProtocol: options.loadProtocol,
                                              sequence: options.sequential ? (UInt64(connection), UInt64(options.connections)) : nil))
            if let rate = options.ratePerSecond {
                schedules.append(OpenLoopSchedule(connectionIndex: connection, connectionCount: options.connections, ratePerSecond: rate,
                                                  startNanoseconds: startNanoseconds, endNanoseconds: deadlineNanoseconds,
                                                  totalOperations: options.operations))
            }
        }
        defer { for connection in connections { close(connection.socket) } }
        let openLoop = options.ratePerSecond != nil
        let value = [UInt8](repeating: UInt8(ascii: "v"), count: options.valueSizeBytes)
        var latencies = makeHistogram()
        var output: [UInt8] = []
        output.reserveCapacity(1 << 12)
        var closedLoopEnded = false

        func mayIssue(_ now: UInt64) -> Bool {
            if closedLoopEnded { return false }
            if let deadlineNanoseconds, now >= deadlineNanoseconds {
                closedLoopEnded = true
            } else if let limit = options.operations, shared.issued.add(1, ordering: .relaxed).newValue > limit {
                closedLoopEnded = true
            }
            return !closedLoopEnded
        }

        func lose(_ position: Int, _ why: String) {
            let lost = connections[position].closed()
            if openLoop { schedules[position].stop() }
            if lost > 0 {
                shared.failures.withLock { $0.append("\(connections[position].name) \(why)") }
                shared.errors.add(lost, ordering: .relaxed)
            }
        }

        func refill(_ position: Int, now: UInt64) {
            guard connections[position].isOpen else { return }
            if openLoop {
                while let due = schedules[position].nextDueNanoseconds, due <= now {
                    connections[position].appendRequest(to: &output, options: options, value: value, countFrom: due)
                    schedules[position].advance()
                }
            } else {
                while connections[position].outstanding < options.pipelineDepth && mayIssue(now) {
                    connections[position].appendRequest(to: &output, options: options, value: value, countFrom: now)
                }
            }
            guard !output.isEmpty else { return }
            if !writeAll(connections[position].socket, output) { lose(position, "could not be written to") }
            output.removeAll(keepingCapacity: true)
        }

        func stillIssuing() -> Bool {
            connections.indices.contains { connections[$0].isOpen && (openLoop ? !schedules[$0].isFinished : !closedLoopEnded) }
        }

        for position in connections.indices { refill(position, now: DispatchTime.now().uptimeNanoseconds) }
        var descriptors = connections.map { pollfd(fd: $0.socket, events: Int16(POLLIN), revents: 0) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var drainDeadline: UInt64?
        while true {
            let issuing = stillIssuing()
            let waiting = connections.contains { $0.isOpen && $0.outstanding > 0 }
            if !issuing && !waiting { break }
            var now = DispatchTime.now().uptimeNanoseconds
            var timeoutNanoseconds: UInt64 = 200_000_000
            if openLoop, issuing {
                let nextDue = schedules.indices.compactMap { connections[$0].isOpen ? schedules[$0].nextDueNanoseconds : nil }.min()
                if let nextDue { timeoutNanoseconds = min(timeoutNanoseconds, nextDue > now ? nextDue - now : 0) }
            }
            if !issuing {
                let limit = drainDeadline ?? now + UInt64(max(0, options.drainTimeoutSeconds) * 1e9)
                drainDeadline = limit
                if now >= limit {
                    for position in connections.indices where connections[position].isOpen && connections[position].outstanding > 0 {
                        lose(position, "left \(connections[position].outstanding) requests unanswered for \(options.drainTimeoutSeconds) s")
                    }
                    break
                }
                timeoutNanoseconds = min(timeoutNanoseconds, limit - now)
            }
            // poll(2) counts in milliseconds: a wait of under one is slept out instead (a
            // request sent late would count the delay against the server). Answers arriving
            // meanwhile wait in the socket and are timed when read, under a millisecond later.
            if timeoutNanoseconds > 0 && timeoutNanoseconds < 1_000_000 {
                var pause = timespec(tv_sec: 0, tv_nsec: Int(timeoutNanoseconds))
                nanosleep(&pause, nil)
                timeoutNanoseconds = 0
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), Int32(timeoutNanoseconds / 1_000_000))
            if ready < 0 && errno != EINTR { break }
            for position in descriptors.indices where ready > 0 && descriptors[position].revents != 0 {
                descriptors[position].revents = 0
                guard connections[position].isOpen else { continue }
                let count = chunk.withUnsafeMutableBytes { recv(connections[position].socket, $0.baseAddress, $0.count, 0) }
                now = DispatchTime.now().uptimeNanoseconds
                if count <= 0 {
                    lose(position, "closed by the server")
                    descriptors[position].fd = -1
                    continue
                }
                var completed = 0
                var errors = 0
                let understood = chunk.withUnsafeBytes { bytes in
                    connections[position].receive(UnsafeRawBufferPointer(rebasing: bytes[0..<count]), now: now) { latency, isError in
                        completed += 1
                        if isError {
                            errors += 1
                        } else {
                            _ = latencies.record(min(latency, highestLatencyNanoseconds))
                        }
                    }
                }
                if completed > 0 { shared.completed.add(completed, ordering: .relaxed) }
                if errors > 0 { shared.errors.add(errors, ordering: .relaxed) }
                if !understood {
                    lose(position, "answered with bytes that are not \(options.loadProtocol) protocol answers")
                    descriptors[position].fd = -1
                    continue
                }
                if !openLoop { refill(position, now: now) }
            }
            if openLoop {
                now = DispatchTime.now().uptimeNanoseconds
                for position in connections.indices { refill(position, now: now) }
            }
        }
        let collected = latencies
        shared.latencies.withLock { $0.add(collected) }
    }

    /// A blocking connection to `host:port`: plain TCP, or with `tls` the plaintext end of a TLS
    /// connection whose handshake succeeded (`TLSSocketBridge`). Throws a
    /// `LoadGeneratorError.connection` saying why not.
    /// `timeoutMilliseconds` bounds a plain TCP connect (a host that is down on a real
    /// network may otherwise hold the caller for the kernel's SYN retries, minutes); nil waits
    /// as the kernel does.
    public static func connect(_ host: String, _ port: Int, tls: NIOSSLContext?, timeoutMilliseconds: Int? = nil) throws -> Int32 {
        guard let tls else {
            guard let socket = connect(host, port, timeoutMilliseconds: timeoutMilliseconds) else {
                throw LoadGeneratorError.connection("cannot connect to \(host):\(port)")
            }
            return socket
        }
        do {
            return try TLSSocketBridge.connect(host: host, port: port, context: tls)
        } catch {
            throw LoadGeneratorError.connection("\(error)")
        }
    }

    /// A blocking TCP connection (name resolved here), or nil; with `timeoutMilliseconds`, nil
    /// also when an address does not accept within that time.
    public static func connect(_ host: String, _ port: Int, timeoutMilliseconds: Int? = nil) -> Int32? {
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
                if connected(socket, current.pointee.ai_addr, current.pointee.ai_addrlen, timeoutMilliseconds: timeoutMilliseconds) {
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

    /// Connects `socket`, waiting at most `timeoutMilliseconds` when given (a non-blocking
    /// connect, then poll for writability); the socket is blocking again afterwards.
    static func connected(_ socket: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t, timeoutMilliseconds: Int?) -> Bool {
        guard let timeoutMilliseconds else { return Glibc.connect(socket, address, length) == 0 }
        let flags = fcntl(socket, F_GETFL)
        guard flags >= 0, fcntl(socket, F_SETFL, flags | O_NONBLOCK) == 0 else { return false }
        defer { _ = fcntl(socket, F_SETFL, flags) }
        if Glibc.connect(socket, address, length) == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var descriptor = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
        guard poll(&descriptor, 1, Int32(clamping: timeoutMilliseconds)) == 1 else { return false }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0
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
