import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// One load thread of `flotilla bench --direct`: its share of the clients, each keeping
/// `pipelineDepth` requests in flight, each request sent straight to the host that leads the
/// key's shard (`RouteTable`). A client has a connection to each host it has sent to, opened
/// when first needed; each connection asks for leader hints (`HINTS ON`), so an answer that
/// was relayed after all says so, and the thread then routes that shard to the leader the
/// hint names (or asks the directory for fresh routes when it names none or an unknown
/// host). A request whose leader or host is unknown, or whose leader's host cannot be
/// reached, goes to one of the `--addr` hosts, which relays it as for any client.
///
/// Every request is counted: an error answer as an error (and `NO_LEADER`, `TIMEOUT`,
/// `SHUTTING_DOWN` or `UNKNOWN_SHARD` ask for fresh routes too), and the requests in flight
/// on a connection that is lost as errors; the client then reconnects for its next request.
/// Nothing is retried, so the counts are those of the plain bench.
struct DirectLoadThread {
    /// One connection: to a node's host, or (`node` nil) to a `--addr` host that relays.
    struct Connection {
        let socket: Int32
        let node: UInt64?
        let client: Int
        /// The answer to `HINTS ON`, read before any request's.
        var awaitingHintsAnswer = true
        var sent: [(at: UInt64, shard: UInt64)] = []
        var head = 0
        var buffer: [UInt8] = []
        var start = 0
        var output: [UInt8] = []
        var isOpen = true
        var outstanding: Int { sent.count - head }
    }

    struct Client {
        let name: String
        var random: UInt64
        var outstanding = 0
        /// Node id (0: the fallback `--addr` host) to its connection's position.
        var connections: [UInt64: Int] = [:]
        var isOpen = true
        /// The `--addr` host this client relays through first when it knows no leader's host.
        let seed: Int

        /// xorshift64*, as the plain bench's connections.
        mutating func nextRandom() -> UInt64 {
            random ^= random >> 12
            random ^= random << 25
            random ^= random >> 27
            return random &* 2_685_821_657_736_338_717
        }
    }

    let options: LoadGenerator.Options
    let directory: RouteDirectory
    let shared: LoadGenerator.Shared
    let deadlineNanoseconds: UInt64?
    private var clients: [Client] = []
    private var connections: [Connection] = []
    private var table: RouteTable
    private var tableVersion: UInt64
    /// Nodes whose host refused a connection since the table was last replaced.
    private var unreachable: Set<UInt64> = []
    private var closedLoopEnded = false
    private var latencies = LoadGenerator.makeHistogram()
    private var hinted = 0
    private let value: [UInt8]
    private var key: [UInt8] = []
    static let hintsOn = Array("HINTS ON\n".utf8)
    /// A host that does not accept within this is passed over (its requests go to an `--addr`
    /// host) until the next routes: a load thread must not wait out a dead host's SYN retries.
    static let connectTimeoutMilliseconds = 1_000

    init(clients assigned: [Int], options: LoadGenerator.Options, directory: RouteDirectory, shared: LoadGenerator.Shared,
         deadlineNanoseconds: UInt64?) {
        self.options = options
        self.directory = directory
        self.shared = shared
        self.deadlineNanoseconds = deadlineNanoseconds
        tableVersion = directory.version.load(ordering: .acquiring)
        table = directory.table
        value = [UInt8](repeating: UInt8(ascii: "v"), count: options.valueSizeBytes)
        for client in assigned {
            clients.append(Client(name: "client \(client)",
                                  random: (UInt64(client + 1) &* 0x9E37_79B9_7F4A_7C15 ^ DispatchTime.now().uptimeNanoseconds) | 1,
                                  seed: client % options.addresses.count))
        }
    }

    mutating func run() {
        defer {
            for connection in connections where connection.isOpen { close(connection.socket) }
            let collected = latencies
            shared.latencies.withLock { $0.add(collected) }
            shared.hintedAnswers.add(hinted, ordering: .relaxed)
        }
        for client in clients.indices { refill(client, now: DispatchTime.now().uptimeNanoseconds) }
        var descriptors: [pollfd] = []
        var polled: [Int] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var drainDeadline: UInt64?
        while true {
            let issuing = !closedLoopEnded && clients.contains { $0.isOpen }
            let waiting = clients.contains { $0.outstanding > 0 }
            if !issuing && !waiting { break }
            var timeoutNanoseconds: UInt64 = 200_000_000
            let now = DispatchTime.now().uptimeNanoseconds
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
            descriptors.removeAll(keepingCapacity: true)
            polled.removeAll(keepingCapacity: true)
            for position in connections.indices where connections[position].isOpen {
                descriptors.append(pollfd(fd: connections[position].socket, events: Int16(POLLIN), revents: 0))
                polled.append(position)
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), Int32(timeoutNanoseconds / 1_000_000))
            if ready < 0 && errno != EINTR { break }
            guard ready > 0 else { continue }
            for (slot, position) in polled.enumerated() where descriptors[slot].revents != 0 && connections[position].isOpen {
                let count = chunk.withUnsafeMutableBytes { recv(connections[position].socket, $0.baseAddress, $0.count, 0) }
                if count <= 0 {
                    lose(position, "closed by the server")
                    continue
                }
                connections[position].buffer.append(contentsOf: chunk[0..<count])
                receive(position, now: DispatchTime.now().uptimeNanoseconds)
            }
            // Clients that lost a connection send again (on a new one).
            let later = DispatchTime.now().uptimeNanoseconds
            for client in clients.indices where clients[client].isOpen && clients[client].outstanding < options.pipelineDepth {
                refill(client, now: later)
            }
        }
    }

    // MARK: issuing

    private mutating func mayIssue(_ now: UInt64) -> Bool {
        if closedLoopEnded { return false }
        if let deadlineNanoseconds, now >= deadlineNanoseconds {
            closedLoopEnded = true
        } else if let limit = options.operations, shared.issued.add(1, ordering: .relaxed).newValue > limit {
            closedLoopEnded = true
        }
        return !closedLoopEnded
    }

    /// Takes a newer table when the directory has one (hints learned meanwhile are dropped:
    /// the new table is at least as fresh).
    private mutating func updateTable() {
        let latest = directory.version.load(ordering: .acquiring)
        guard latest != tableVersion else { return }
        tableVersion = latest
        table = directory.table
        unreachable = []
    }

    private mutating func refill(_ client: Int, now: UInt64) {
        updateTable()
        var touched: [Int] = []
        while clients[client].isOpen && clients[client].outstanding < options.pipelineDepth && mayIssue(now) {
            let number = clients[client].nextRandom() % UInt64(max(1, options.keyCount))
            let isRead = options.readFraction > 0 && Double(clients[client].nextRandom() >> 11) / Double(1 << 53) < options.readFraction
            key.removeAll(keepingCapacity: true)
            key.append(contentsOf: options.keyPrefixBytes)
            key.append(contentsOf: String(number).utf8)
            let shard = table.shardCount > 0 ? shardOf(key: key, shardCount: table.shardCount) : 0
            guard let position = connection(for: client, shard: shard) else {
                // Not even an --addr host can be reached: this client stops, as a lost
                // connection of the plain bench does (the request was never sent).
                clients[client].isOpen = false
                break
            }
            var output = connections[position].output
            connections[position].output = []
            output.append(contentsOf: isRead ? (options.stale ? LoadConnection.staleGet : LoadConnection.get) : LoadConnection.put)
            output.append(contentsOf: key)
            if !isRead {
                output.append(UInt8(ascii: " "))
                output.append(contentsOf: value)
            }
            output.append(UInt8(ascii: "\n"))
            connections[position].output = output
            connections[position].sent.append((now, shard))
            clients[client].outstanding += 1
            if !touched.contains(position) { touched.append(position) }
        }
        for position in touched where connections[position].isOpen {
            let output = connections[position].output
            connections[position].output.removeAll(keepingCapacity: true)
            if !LoadGenerator.writeAll(connections[position].socket, output) { lose(position, "could not be written to") }
        }
    }

    /// The client's connection to the shard's leader's host (opened if needed), else to its
    /// fallback `--addr` host; nil when neither can be reached.
    private mutating func connection(for client: Int, shard: UInt64) -> Int? {
        let leader = table.leader(ofShard: shard)
        if leader != 0, !unreachable.contains(leader), let address = table.addresses[leader] {
            if let position = clients[client].connections[leader] { return position }
            if let position = open(address, node: leader, client: client) { return position }
            unreachable.insert(leader)
            directory.requestRefresh()
        } else {
            directory.requestRefresh()
        }
        if let position = clients[client].connections[0] { return position }
        // The client's own --addr host first, then the others.
        let seeds = options.addresses
        for step in 0..<seeds.count {
            if let position = open(seeds[(clients[client].seed + step) % seeds.count], node: nil, client: client) { return position }
        }
        return nil
    }

    private mutating func open(_ address: (host: String, port: Int), node: UInt64?, client: Int) -> Int? {
        guard let socket = try? LoadGenerator.connect(address.host, address.port, tls: options.tls,
                                                     timeoutMilliseconds: Self.connectTimeoutMilliseconds) else { return nil }
        var connection = Connection(socket: socket, node: node, client: client)
        connection.output = Self.hintsOn
        connections.append(connection)
        clients[client].connections[node ?? 0] = connections.count - 1
        return connections.count - 1
    }

    // MARK: answers

    private mutating func receive(_ position: Int, now: UInt64) {
        var answered = false
        while connections[position].isOpen,
              let newline = connections[position].buffer[connections[position].start...].firstIndex(of: UInt8(ascii: "\n")) {
            let lineStart = connections[position].start
            connections[position].start = newline + 1
            if connections[position].awaitingHintsAnswer {
                // A host that knows no hints refuses the line; its answers then simply carry none.
                connections[position].awaitingHintsAnswer = false
                continue
            }
            guard connections[position].head < connections[position].sent.count else {
                lose(position, "answered more than it was asked")
                return
            }
            let (sentAt, shard) = connections[position].sent[connections[position].head]
            connections[position].head += 1
            clients[connections[position].client].outstanding -= 1
            answered = true
            var answerStart = lineStart
            if let hint = LeaderHint.parse(connections[position].buffer[lineStart..<newline]) {
                hinted += 1
                answerStart = hint.answerStart
                if hint.leader != 0, hint.leader != connections[position].node, table.addresses[hint.leader] != nil {
                    table.learn(leader: hint.leader, ofShard: shard)
                } else {
                    directory.requestRefresh()
                }
            }
            let answer = connections[position].buffer[answerStart..<newline]
            if answer.starts(with: Self.error) {
                shared.errors.add(1, ordering: .relaxed)
                if Self.routingErrors.contains(where: { answer.dropFirst(Self.error.count).starts(with: $0) }) {
                    table.learn(leader: 0, ofShard: shard)
                    directory.requestRefresh()
                }
            } else {
                _ = latencies.record(min(now > sentAt ? now - sentAt : 0, LoadGenerator.highestLatencyNanoseconds))
            }
            shared.completed.add(1, ordering: .relaxed)
        }
        compact(position)
        if answered { refill(connections[position].client, now: now) }
    }

    private mutating func compact(_ position: Int) {
        if connections[position].start == connections[position].buffer.count {
            connections[position].buffer.removeAll(keepingCapacity: true)
            connections[position].start = 0
        } else if connections[position].start > 1 << 15 {
            connections[position].buffer.removeFirst(connections[position].start)
            connections[position].start = 0
        }
        if connections[position].head > 4096 {
            connections[position].sent.removeFirst(connections[position].head)
            connections[position].head = 0
        }
    }

    /// The connection is gone: what was in flight on it counts as errors, and its client
    /// opens a new one when it next needs that host.
    private mutating func lose(_ position: Int, _ why: String) {
        guard connections[position].isOpen else { return }
        let lost = connections[position].outstanding
        let client = connections[position].client
        connections[position].isOpen = false
        close(connections[position].socket)
        clients[client].outstanding -= lost
        clients[client].connections[connections[position].node ?? 0] = nil
        if lost > 0 {
            shared.failures.withLock { $0.append("\(clients[client].name): a connection \(why)") }
            shared.errors.add(lost, ordering: .relaxed)
        }
        if let node = connections[position].node { unreachable.insert(node) }
        directory.requestRefresh()
    }

    static let error = Array("ERR ".utf8)
    /// Errors that say the routes may be out of date.
    static let routingErrors = ["NO_LEADER", "TIMEOUT", "SHUTTING_DOWN", "UNKNOWN_SHARD"].map { Array($0.utf8) }
}
