import FlotillaThreads
import FlotillaRaft
import Foundation
import Synchronization

/// Many shards in one process, in the manner of Dragonboat's NodeHost: a fixed set of step
/// workers each own a partition of the shards and persist all their updates with one store
/// write per round; a ticker drives the logical clock; requests are asynchronous and bounded.
public final class NodeHost: HostMessageReceiver {
    public let configuration: NodeHostConfiguration
    /// Elections, busy refusals and installed snapshots, counted with atomics for the metrics.
    public let counters = HostCounters()
    let context: HostContext
    let workers: [StepWorker]
    private let state = Mutex<LifeCycle>(.created)
    private let tickerStop = DispatchSemaphore(value: 0)
    private let tickerDone = DispatchSemaphore(value: 0)

    enum LifeCycle { case created, running, stopped }

    /// Opens the host over `store`, restarting every replica the store holds, each in the role
    /// its own log and snapshot give it. `failStop` is called when the store fails for good
    /// (`HostStoreFailure`: a failed sync, an I/O error, a refused batch); by default it writes
    /// the reason to standard error and exits the process with status 70.
    public convenience init(configuration: NodeHostConfiguration, store: any HostLogStore, transport: any HostTransport,
                            events: @escaping HostEventSink = { _ in },
                            failStop: @escaping @Sendable (String) -> Void = NodeHost.exitOnStoreFailure) throws {
        try self.init(configuration: configuration, store: store, transport: transport, events: events, failStop: failStop,
                      clock: MonotonicHostClock(), snapshotWriter: SnapshotWriter())
    }

    /// The host with its clock and snapshot executor given: a simulator passes simulated ones
    /// and drives the rounds itself (`startDriven`, `runQueuedRounds`).
    package init(configuration: NodeHostConfiguration, store: any HostLogStore, transport: any HostTransport,
                 events: @escaping HostEventSink, failStop: @escaping @Sendable (String) -> Void,
                 clock: any HostClock, snapshotWriter: any SnapshotJobExecutor) throws {
        self.configuration = configuration
        let context = HostContext(configuration: configuration, store: store, transport: transport, events: events,
                                  counters: counters, failStop: failStop, clock: clock, snapshotWriter: snapshotWriter)
        self.context = context
        let workerCount = max(1, configuration.workerCount)
        workers = (0..<workerCount).map { StepWorker(context: context, id: StepWorkerID($0)) }
        try FileManager.default.createDirectory(atPath: context.snapshotDirectory, withIntermediateDirectories: true)
        for stored in try store.loadReplicas() {
            worker(for: stored.shard).queue.push(.addReplica(stored, stored.shard, stored.record, bootstrap: []), force: true)
        }
    }

    /// The default fail-stop: the reason on standard error, then exit at once (no clean
    /// shutdown: nothing more may be written).
    public static let exitOnStoreFailure: @Sendable (String) -> Void = { reason in
        FileHandle.standardError.write(Data("flotilla: stopping at once: \(reason)\n".utf8))
        exit(70)
    }

    func worker(for shard: ShardID) -> StepWorker { workers[Int(shard.rawValue % UInt64(workers.count))] }

    public func start() {
        let shouldStart = state.withLock { state -> Bool in
            guard state == .created else { return false }
            state = .running
            return true
        }
        guard shouldStart else { return }
        context.snapshotWriter.start()
        for (position, worker) in workers.enumerated() { worker.start(name: "flotilla-step-\(position)") }
        let interval = max(1, configuration.tickMilliseconds)
        let thread = Thread { [self] in
            nameCurrentThread("flotilla-ticker")
            while tickerStop.wait(timeout: .now() + .milliseconds(interval)) == .timedOut {
                tick()
            }
            tickerDone.signal()
        }
        thread.name = "flotilla-ticker"
        thread.start()
    }

    /// One tick of the logical clock, to every worker (the ticker calls it each `tickMilliseconds`).
    package func tick() {
        for worker in workers { worker.queue.push(.tick) }
    }

    /// Starts the host without its threads (no ticker, no step worker threads, no snapshot
    /// thread): the caller drives it, from one thread, with `tick` and `runQueuedRounds`.
    /// For the host simulator, which runs the real round logic on simulated time.
    package func startDriven() {
        state.withLock { state in
            if state == .created { state = .running }
        }
    }

    /// Runs, for each worker in turn, one round over what its queue holds, until every queue
    /// is empty; only for a host started with `startDriven`. Returns the rounds run.
    @discardableResult
    package func runQueuedRounds() -> Int {
        var rounds = 0
        var ranAny = true
        while ranAny {
            ranAny = false
            for worker in workers {
                let items = worker.queue.takeAvailable()
                guard !items.isEmpty else { continue }
                worker.runRound(items)
                rounds += 1
                ranAny = true
            }
        }
        return rounds
    }

    /// Every replica's state machine with the index it has applied through, read from the
    /// workers directly; only for a host started with `startDriven`, between rounds.
    package func appliedStates() -> [AppliedState] {
        workers.flatMap { $0.appliedStates() }.sorted { $0.shard < $1.shard }
    }

    /// Stops the ticker and the workers; requests still waiting fail with `shuttingDown`.
    public func stop() {
        let wasRunning = state.withLock { state -> Bool in
            defer { state = .stopped }
            return state == .running
        }
        guard wasRunning else { return }
        tickerStop.signal()
        tickerDone.wait()
        for worker in workers { worker.stop() }
        // After the workers: what they queued is written (or its file removed) before the end.
        context.snapshotWriter.stop()
    }

    /// The cluster this host belongs to; zero on a joining host that has not heard from a peer.
    public var clusterID: UInt64 { context.clusterIdentity.load(ordering: .acquiring) }

    /// A joining host learned its cluster's identity (from the transport's handshake).
    public func adoptClusterIdentity(_ identity: UInt64) {
        _ = context.clusterIdentity.compareExchange(expected: 0, desired: identity, ordering: .acquiringAndReleasing)
    }

    /// A joining host learned the cluster's shard count.
    public func setShardCount(_ count: UInt64) { context.shardCount.store(count, ordering: .releasing) }

    /// The shards this host holds a replica of.
    public var hostedShards: [ShardID] { context.shards.withLock { $0.keys.sorted() } }

    /// Who this host believes leads `shard`, or nil when it holds no replica of it.
    public func leader(of shard: ShardID) -> ReplicaID? { context.shards.withLock { $0[shard]?.leader } }

    /// This host's role in `shard` and who it believes leads it, with one lock (the request
    /// path asks for both); nil when it holds no replica of it.
    public func roleAndLeader(in shard: ShardID) -> (role: RaftRole, leader: ReplicaID)? {
        context.shards.withLock { table in table[shard].map { ($0.role, $0.leader) } }
    }

    /// Every shard this host holds, with its role and the leader it knows, under one lock (the
    /// health check and the metrics read it).
    public var rolesAndLeaders: [(shard: ShardID, role: RaftRole, leader: ReplicaID, term: Term)] {
        context.shards.withLock { table in
            table.keys.sorted().map { shard in (shard, table[shard]!.role, table[shard]!.leader, table[shard]!.term) }
        }
    }

    /// The `STATUS` of every replica this host holds, gathered from their step workers; calls
    /// `completion` once, from a worker's thread, with them in shard order (a replica that
    /// vanished meanwhile is left out).
    public func statuses(completion: @escaping @Sendable ([ShardStatus]) -> Void) {
        let shards = hostedShards
        guard !shards.isEmpty else { return completion([]) }
        let gathered = Mutex<(remaining: Int, statuses: [ShardStatus])>((shards.count, []))
        for shard in shards {
            status(shard) { result in
                let done = gathered.withLock { state -> [ShardStatus]? in
                    if case .success(let status) = result { state.statuses.append(status) }
                    state.remaining -= 1
                    return state.remaining == 0 ? state.statuses : nil
                }
                if let done { completion(done.sorted { $0.shard < $1.shard }) }
            }
        }
    }

    /// This host's role in `shard`, or nil when it holds no replica of it.
    public func role(in shard: ShardID) -> RaftRole? { context.shards.withLock { $0[shard]?.role } }

    /// The addresses of `shard`'s members as this host knows them.
    public func members(of shard: ShardID) -> [ReplicaID: String] { context.shards.withLock { $0[shard]?.members ?? [:] } }

    // MARK: - Creating replicas

    /// First boot of a shard on this host: writes the bootstrap log (the initial members) and
    /// starts the replica. Refused when the host already holds the shard.
    public func bootstrapShard(_ shard: ShardID, membership: Membership) throws {
        if context.shards.withLock({ $0[shard] != nil }) {
            throw NodeHostError.invalid("shard \(shard) already exists on this host")
        }
        let update = ReplicaLogUpdate.bootstrap(shard, membership: membership)
        let entries = update.entries
        try context.store.persist([update])
        let stored = StoredReplica(shard: shard, record: ReplicaRecord(origin: .bootstrap), hardState: update.hardState!,
                                   snapshot: nil, firstIndex: LogIndex(1), lastIndex: entries.last?.index ?? .zero,
                                   compactedTerm: .zero)
        context.publish(shard, .init(role: .follower, leader: .none, term: Term(1), members: membership.voterAddresses))
        worker(for: shard).queue.push(.addReplica(stored, shard, stored.record, bootstrap: entries), force: true)
    }

    // MARK: - Requests
    //
    // Every request has a callback form, called once on the owning worker's thread (or at once
    // when refused), for the request path: no `Task` and no continuation per request. The
    // `async` forms wrap it, for tools and tests.

    private func submit(_ shard: ShardID, _ make: (HostContinuation) -> WorkItem,
                        _ body: @escaping @Sendable (HostResponse) -> Void) {
        guard state.withLock({ $0 == .running }) else {
            body(.failure(.shuttingDown))
            return
        }
        if !worker(for: shard).queue.push(make(HostContinuation(body: body))) {
            HostCounters.increment(context.counters.busyRefusals)
            body(.failure(.busy("step worker queue full")))
        }
    }

    private func awaiting<Value: Sendable>(_ start: (@escaping @Sendable (Value) -> Void) -> Void) async -> Value {
        await withCheckedContinuation { continuation in
            start { continuation.resume(returning: $0) }
        }
    }

    /// Proposes a write and answers once it is committed and applied here.
    public func propose(_ shard: ShardID, _ command: KeyValueCommand,
                        completion: @escaping @Sendable (Result<KeyValueResult, NodeHostError>) -> Void) {
        submit(shard, { .propose(shard, command, $0) }) { response in
            switch response {
            case .applied(let result): completion(.success(result))
            case .failure(let error): completion(.failure(error))
            default: completion(.failure(.failed("unexpected answer to a proposal")))
            }
        }
    }

    public func propose(_ shard: ShardID, _ command: KeyValueCommand) async -> Result<KeyValueResult, NodeHostError> {
        await awaiting { propose(shard, command, completion: $0) }
    }

    /// A linearizable read (ReadIndex; no log write) when `linearizable`, else this replica's
    /// state as applied now (may be stale). A linearizable read works on any replica: a
    /// follower or observer asks the leader for the read index, then serves it itself.
    public func read(_ shard: ShardID, key: [UInt8], linearizable: Bool,
                     completion: @escaping @Sendable (Result<[UInt8]?, NodeHostError>) -> Void) {
        query(shard, .value(key: key), linearizable: linearizable) { result in
            completion(result.flatMap { answer in
                guard case .value(let value) = answer else { return .failure(.failed("unexpected answer to a read")) }
                return .success(value)
            })
        }
    }

    /// Any read of the shard's state (a value, a time to live, a page of keys, the key
    /// count), linearizable or stale as `read` is. Expiry is judged by this host's clock.
    public func query(_ shard: ShardID, _ query: KeyValueQuery, linearizable: Bool,
                      completion: @escaping @Sendable (Result<KeyValueAnswer, NodeHostError>) -> Void) {
        submit(shard, { .read(shard, query, linearizable: linearizable, $0) }) { response in
            switch response {
            case .answer(let answer): completion(.success(answer))
            case .failure(let error): completion(.failure(error))
            default: completion(.failure(.failed("unexpected answer to a read")))
            }
        }
    }

    public func query(_ shard: ShardID, _ query: KeyValueQuery, linearizable: Bool = true) async -> Result<KeyValueAnswer, NodeHostError> {
        await awaiting { self.query(shard, query, linearizable: linearizable, completion: $0) }
    }

    public func read(_ shard: ShardID, key: [UInt8]) async -> Result<[UInt8]?, NodeHostError> {
        await awaiting { read(shard, key: key, linearizable: true, completion: $0) }
    }

    /// Reads this host's replica as applied now; may be stale.
    public func staleRead(_ shard: ShardID, key: [UInt8]) async -> Result<[UInt8]?, NodeHostError> {
        await awaiting { read(shard, key: key, linearizable: false, completion: $0) }
    }

    private func admin(_ shard: ShardID, _ operation: AdminOperation, _ body: @escaping @Sendable (HostResponse) -> Void) {
        submit(shard, { .admin(shard, operation, $0) }, body)
    }

    private static func done(_ completion: @escaping @Sendable (Result<Void, NodeHostError>) -> Void) -> @Sendable (HostResponse) -> Void {
        { response in
            switch response {
            case .done: completion(.success(()))
            case .failure(let error): completion(.failure(error))
            default: completion(.failure(.failed("unexpected answer")))
            }
        }
    }

    public func addObserver(_ shard: ShardID, node: ReplicaID, address: String,
                            completion: @escaping @Sendable (Result<Void, NodeHostError>) -> Void) {
        admin(shard, .membershipChange(MembershipChange(kind: .addObserver, replica: node, address: address)), Self.done(completion))
    }

    public func addObserver(_ shard: ShardID, node: ReplicaID, address: String) async -> Result<Void, NodeHostError> {
        await awaiting { addObserver(shard, node: node, address: address, completion: $0) }
    }

    /// Promotes an observer to voter; refused with `notCaughtUp` while it lags (see
    /// `RaftConfiguration.promotionLagEntriesMax`).
    public func promote(_ shard: ShardID, node: ReplicaID, completion: @escaping @Sendable (Result<Void, NodeHostError>) -> Void) {
        admin(shard, .membershipChange(MembershipChange(kind: .promoteObserver, replica: node)), Self.done(completion))
    }

    public func promote(_ shard: ShardID, node: ReplicaID) async -> Result<Void, NodeHostError> {
        await awaiting { promote(shard, node: node, completion: $0) }
    }

    public func remove(_ shard: ShardID, node: ReplicaID, completion: @escaping @Sendable (Result<Void, NodeHostError>) -> Void) {
        admin(shard, .membershipChange(MembershipChange(kind: .remove, replica: node)), Self.done(completion))
    }

    public func remove(_ shard: ShardID, node: ReplicaID) async -> Result<Void, NodeHostError> {
        await awaiting { remove(shard, node: node, completion: $0) }
    }

    /// Answers once `node` leads the shard (as this host sees it).
    public func transfer(_ shard: ShardID, to node: ReplicaID, completion: @escaping @Sendable (Result<Void, NodeHostError>) -> Void) {
        admin(shard, .transfer(node), Self.done(completion))
    }

    public func transfer(_ shard: ShardID, to node: ReplicaID) async -> Result<Void, NodeHostError> {
        await awaiting { transfer(shard, to: node, completion: $0) }
    }

    /// Takes a snapshot now and compacts the log; answers its index.
    public func snapshot(_ shard: ShardID, completion: @escaping @Sendable (Result<LogIndex, NodeHostError>) -> Void) {
        admin(shard, .snapshot) { response in
            switch response {
            case .index(let index): completion(.success(index))
            case .failure(let error): completion(.failure(error))
            default: completion(.failure(.failed("unexpected answer")))
            }
        }
    }

    public func snapshot(_ shard: ShardID) async -> Result<LogIndex, NodeHostError> {
        await awaiting { snapshot(shard, completion: $0) }
    }

    /// Writes a self-contained snapshot file of the shard into `directory`.
    public func export(_ shard: ShardID, directory: String,
                       completion: @escaping @Sendable (Result<(index: LogIndex, file: String), NodeHostError>) -> Void) {
        admin(shard, .export(directory: directory)) { response in
            switch response {
            case .exported(let index, let file): completion(.success((index, file)))
            case .failure(let error): completion(.failure(error))
            default: completion(.failure(.failed("unexpected answer")))
            }
        }
    }

    public func export(_ shard: ShardID, directory: String) async -> Result<(index: LogIndex, file: String), NodeHostError> {
        await awaiting { export(shard, directory: directory, completion: $0) }
    }

    public func status(_ shard: ShardID, completion: @escaping @Sendable (Result<ShardStatus, NodeHostError>) -> Void) {
        submit(shard, { .status(shard, $0) }) { response in
            switch response {
            case .status(let status): completion(.success(status))
            case .failure(let error): completion(.failure(error))
            default: completion(.failure(.failed("unexpected answer")))
            }
        }
    }

    public func status(_ shard: ShardID) async -> Result<ShardStatus, NodeHostError> {
        await awaiting { status(shard, completion: $0) }
    }

    // MARK: - HostMessageReceiver

    /// A peer that restarted has lost its commit index (it is not written on its own) and does
    /// not know the leader; a leader whose shard has fallen quiet sends nothing, so the peer
    /// would stay behind until the next write. Waking the quiet shards this host leads with that
    /// peer makes them send it a heartbeat, with the commit index, at once.
    public func peerConnected(_ peer: ReplicaID) {
        for worker in workers { worker.queue.push(.peerConnected(peer)) }
    }

    /// A quiet follower does not tick, so it would never notice that its leader died: it
    /// would learn it only when a request arrives, and that request would wait out an
    /// election. Waking the quiet shards led by a peer whose connection was lost starts their
    /// election timers now (if the peer is alive, its heartbeats keep them followers).
    public func peerLost(_ peer: ReplicaID) {
        for worker in workers { worker.queue.push(.peerLost(peer)) }
    }

    public func receive(_ messages: [ShardMessage]) {
        guard state.withLock({ $0 == .running }) else { return }
        var byWorker: [Int: [ShardMessage]] = [:]
        for message in messages where message.message.to == configuration.nodeID {
            byWorker[Int(message.shard.rawValue % UInt64(workers.count)), default: []].append(message)
        }
        for (position, batch) in byWorker {
            workers[position].queue.push(.messages(batch))
        }
    }

    public func receiveSnapshot(_ message: ShardMessage, file: String) -> Bool {
        guard state.withLock({ $0 == .running }), case .installSnapshot(let metadata) = message.message.kind else {
            unlink(file)
            return false
        }
        do {
            let loaded = try SnapshotFile.read(from: file)
            guard loaded.header.clusterID == clusterID else {
                throw SnapshotFileError.corrupt("snapshot of another cluster (\(loaded.header.clusterID))")
            }
            guard loaded.header.shard == message.shard, loaded.header.metadata == metadata else {
                throw SnapshotFileError.corrupt("snapshot file does not match its message")
            }
            let pushed = worker(for: message.shard).queue.push(.snapshotReceived(message, loaded.stateMachine, file: file))
            if !pushed { unlink(file) }
            return pushed
        } catch {
            context.events(HostEvent(.warning, "refused snapshot: \(error)", shard: message.shard, peer: message.message.from))
            unlink(file)
            return false
        }
    }
}
