import Dispatch
import Foundation
import NIOSSL
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The routes `flotilla bench --direct` shares between its load threads: the current
/// `RouteTable`, fetched with `ROUTES` from every host it knows (the `--addr` hosts and every
/// host the answers name), and fetched again when a thread asks (a leader unknown, a hint
/// naming an unknown host, `NO_LEADER`, a lost connection). Refreshes run on one thread of
/// their own, one at a time: requests made during one are answered by the next, so a burst
/// of failures costs one refresh, and refreshes are at least `refreshPauseMilliseconds`
/// apart.
final class RouteDirectory: Sendable {
    let seeds: [(host: String, port: Int)]
    let tls: NIOSSLContext?
    private let current = Mutex(RouteTable())
    /// Bumped on every table published, so that threads see a new one with an atomic load.
    let version = Atomic<UInt64>(0)
    let refreshes = Atomic<Int>(0)
    private let refreshWanted = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    static let refreshPauseMilliseconds = 50
    /// How long one host may take to answer `ROUTES` before it is passed over.
    static let answerTimeoutSeconds = 2

    init(seeds: [(host: String, port: Int)], tls: NIOSSLContext?) {
        self.seeds = seeds
        self.tls = tls
    }

    var table: RouteTable { current.withLock { $0 } }

    /// Fetches and publishes the routes now, on the caller's thread; false when no host
    /// answered `ROUTES`.
    @discardableResult
    func refresh() -> Bool {
        let known = table
        var targets: [(host: String, port: Int)] = []
        for address in seeds + known.addresses.keys.sorted().compactMap({ known.addresses[$0] })
        where !targets.contains(where: { $0 == address }) {
            targets.append(address)
        }
        var answers: [RoutesLine] = []
        var i = 0
        while i < targets.count {
            if let answer = Self.askRoutes(targets[i], tls: tls) {
                answers.append(answer)
                // Hosts named for the first time are asked too: each knows its own shards' leaders.
                for node in answer.addresses.keys.sorted() {
                    guard let line = answer.addresses[node]?.line, let split = HostClientAddresses.split(line) else { continue }
                    var host = split.host
                    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
                    if !targets.contains(where: { $0 == (host, split.port) }) { targets.append((host, split.port)) }
                }
            }
            i += 1
        }
        refreshes.add(1, ordering: .relaxed)
        guard !answers.isEmpty else { return false }
        let merged = RouteTable(merging: answers)
        current.withLock { $0 = merged }
        version.add(1, ordering: .releasing)
        return true
    }

    /// Asks for a refresh by the directory's thread (cheap; many asks make one refresh).
    func requestRefresh() {
        if !refreshWanted.exchange(true, ordering: .acquiringAndReleasing) { wake.signal() }
    }

    /// Starts the refresh thread.
    func start() {
        let thread = Thread { [self] in
            while true {
                wake.wait()
                if stopping.load(ordering: .acquiring) { break }
                guard refreshWanted.exchange(false, ordering: .acquiringAndReleasing) else { continue }
                refresh()
                // A pause before the next refresh, cut short by `stop`.
                if finished.wait(timeout: .now() + .milliseconds(Self.refreshPauseMilliseconds)) == .success { break }
            }
        }
        thread.name = "flotilla-bench-routes"
        thread.start()
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        wake.signal()
        finished.signal()
    }

    /// One `ROUTES` question on a connection of its own, or nil when the host cannot be
    /// reached or does not answer with routes in time.
    static func askRoutes(_ address: (host: String, port: Int), tls: NIOSSLContext?) -> RoutesLine? {
        guard let socket = try? LoadGenerator.connect(address.host, address.port, tls: tls,
                                                     timeoutMilliseconds: answerTimeoutSeconds * 1_000) else { return nil }
        defer { close(socket) }
        var timeout = timeval(tv_sec: answerTimeoutSeconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard LoadGenerator.writeAll(socket, Array("ROUTES\n".utf8)) else { return nil }
        var reader = SocketLineReader(socket: socket)
        guard let line = reader.readLine() else { return nil }
        return RoutesLine(line: String(decoding: line, as: UTF8.self))
    }
}
