import FlotillaHost
import FlotillaRaft
import Foundation
import HeapModule

/// A seeded, deterministic simulation of a cluster of NodeHosts, in the manner of
/// TigerBeetle's VOPR: the real host (its step workers' rounds, request bookkeeping, apply,
/// snapshots taken, sent and installed, restart from the store) on a simulated clock, store
/// and network, all driven from one thread by one seeded event queue, so a failing seed
/// replays exactly.
///
/// What it injects: a manual clock (each host's `HostClock` and wall clock read it; ticks are
/// events), a store whose writes are durable only once synced (an event later; a crash loses
/// the rest; a sync may fail, and the host must fail-stop; a full store refuses writes for a
/// while), a network that drops, duplicates, delays, reorders and partitions (both ways or one
/// way) over connections that are lost and re-established as over TCP (`peerLost`,
/// `peerConnected`), workers that run their rounds a little after work is queued, snapshot
/// jobs run as events, and host crashes and restarts (the restart recovers through the real
/// restore path from what was durable). Clients put, compare-and-set, delete and read
/// (linearizably) through the real `NodeHost` request API, and now and then ask for a
/// leadership transfer, a snapshot or (five hosts, three initial voters) a membership change.
///
/// What it checks: every request is answered once, and in bounded time while its host lives;
/// the history is linearizable per key (`RegisterHistory`: no acknowledged write lost, no stale
/// or invented read, no write answered "not applied" that was applied); replicas' state
/// machines agree at equal applied indexes; a host whose store failed sends, writes and
/// acknowledges nothing after the round that learned it, and stops only for the store's
/// failures; and liveness: once faults stop, with every host back (or, in liveness mode, only
/// a random majority, the core, up and connected and the rest down for good), each shard has,
/// after `livenessIdleMilliseconds` without a request, a leader every member knows, then
/// commits a write and serves a read, and every key is read back, within
/// `livenessBoundMilliseconds`.
///
/// Deviations from production, on purpose: snapshot files and their renames are durable as
/// soon as written (only the log store loses unsynced writes), and the failed sync's host
/// exits a few milliseconds later rather than at once (what it does meanwhile is checked).
public final class HostSimulator: @unchecked Sendable {
    public let options: HostSimulationOptions
    /// Receives a line per event when set (replaying a seed).
    public var trace: ((String) -> Void)?

    enum Event {
        case tick(host: Int, incarnation: Int)
        /// A message on the connection of `epoch` between the two hosts.
        case deliver(from: Int, to: Int, epoch: Int, ShardMessage)
        case transferSnapshot(from: Int, incarnation: Int, ShardMessage, file: String, completion: @Sendable (Bool) -> Void)
        case snapshotTransferred(host: Int, incarnation: Int, completion: @Sendable (Bool) -> Void, succeeded: Bool)
        case storeSync(host: Int, incarnation: Int)
        case storeCompletion(host: Int, incarnation: Int, completion: @Sendable (Result<Void, any Error>) -> Void, outcome: StoreOutcome)
        case snapshotJob(host: Int, incarnation: Int, job: @Sendable () -> Void)
        case clientStep(client: Int)
        case crash(host: Int)
        case restart(host: Int)
        case fault
        case processExit(host: Int, incarnation: Int)
        case faultsEnd
        case drain(host: Int, incarnation: Int)
        /// The host's disk fills up, or has room again.
        case storeFull(host: Int, full: Bool)
        case peerLost(host: Int, incarnation: Int, peer: Int)
        /// A cut between two hosts lasted long enough for their connection to time out.
        case connectionTimeout(first: Int, second: Int)
        /// The end of the quiet period after the faults: every shard must have a live leader.
        case idleCheck
    }

    enum StoreOutcome {
        case durable
        case refused
        case failed(String)
    }

    struct Scheduled: Comparable {
        var time: UInt64
        var sequence: UInt64
        var event: Event

        static func < (left: Scheduled, right: Scheduled) -> Bool { (left.time, left.sequence) < (right.time, right.sequence) }
        static func == (left: Scheduled, right: Scheduled) -> Bool { left.sequence == right.sequence }
    }

    enum Operation {
        case put([UInt8])
        case compareAndSet(expected: [UInt8], new: [UInt8])
        case delete
        case get
        case transfer(ReplicaID)
        case snapshot
        case addObserver(ReplicaID)
        case promote(ReplicaID)
        case remove(ReplicaID)
    }

    enum Answer {
        case written(Result<KeyValueResult, NodeHostError>)
        case read(Result<[UInt8]?, NodeHostError>)
        case done(Result<Void, NodeHostError>)
        case snapshot(Result<LogIndex, NodeHostError>)

        var failure: NodeHostError? {
            switch self {
            case .written(.failure(let error)), .read(.failure(let error)), .done(.failure(let error)), .snapshot(.failure(let error)):
                return error
            default:
                return nil
            }
        }
    }

    struct Request {
        var client: Int
        var host: Int
        var incarnation: Int
        var register: RegisterHistory.Register
        var operation: Operation
        var start: UInt64
        var startMilliseconds: UInt64
        var writePosition: Int?
        var label: String
    }

    struct Link: Hashable {
        var from: Int
        var to: Int
    }

    private var random: SimulationRandom
    private let time = SimulationTime()
    private var queue = Heap<Scheduled>()
    private var sequence: UInt64 = 0
    /// The history's clock: one tick per submission and per answer taken.
    private var stamp: UInt64 = 0
    private var hosts: [SimulatedHost] = []
    private let root: String
    private var history = RegisterHistory()
    private var report = HostSimulationReport()
    private var violation: HostSimulationFailure?
    private var blocked: Set<Link> = []
    /// Pairs of hosts (lower first) whose connection is down: one crashed, or a cut outlasted
    /// the keepalive. Re-established (`peerConnected`) once both are up and the cut is gone.
    private var lostConnections: Set<Link> = []
    private var connectionEpochs: [Link: Int] = [:]
    private var syncScheduled: [Bool]
    private var drainScheduled: [Bool]
    private var lastCompletionMilliseconds: [UInt64]
    private var nextTransferID: UInt64 = 1
    private var faultsActive = true
    private var faultsEndedAt: UInt64?
    private var outstanding: [Int: Request] = [:]
    private var answers: [(id: Int, answer: Answer)] = []
    private var nextRequestID = 1
    private var clientBusy: [Bool]
    private var lastSeen: [RegisterHistory.Register: [UInt8]] = [:]
    private var shardsWritten: Set<UInt64> = []
    private var shardsRead: Set<UInt64> = []
    /// Set once the core served each shard: every key is then read back.
    private var finalReadsStamp: UInt64?
    private var finalReadsRemaining: [RegisterHistory.Register] = []
    private var finished = false
    private var clientsIdleUntil: UInt64 = 0
    private var appliedDigests: [ShardID: [LogIndex: (digest: UInt64, host: Int)]] = [:]
    private var promoteFailStops: [Int] = []

    public init(options: HostSimulationOptions) {
        self.options = options
        random = SimulationRandom(seed: options.seed)
        root = NSTemporaryDirectory() + "flotilla-host-simulation-\(options.seed)-\(UUID().uuidString)"
        syncScheduled = Array(repeating: false, count: options.hostCount)
        drainScheduled = Array(repeating: false, count: options.hostCount)
        lastCompletionMilliseconds = Array(repeating: 0, count: options.hostCount)
        clientBusy = Array(repeating: false, count: options.clientCount)
    }

    private var shards: [UInt64] { Array(1...UInt64(options.shardCount)) }

    private var registers: [RegisterHistory.Register] {
        shards.flatMap { shard in (0..<options.keysPerShard).map { RegisterHistory.Register(shard: shard, key: Array("key-\($0)".utf8)) } }
    }

    /// Runs the seed to its end; throws the first invariant broken.
    public func run() throws -> HostSimulationReport {
        defer { tearDown() }
        try setUp()
        while !finished {
            guard let next = queue.popMin() else {
                fail("progress", "no event left to run")
                break
            }
            time.advance(to: next.time)
            report.events += 1
            handle(next.event)
            processAnswers()
            for host in promoteFailStops { hosts[host].failStopped = true }
            promoteFailStops = []
            checkProgress()
            for host in hosts {
                if let refused = host.store.refusedUpdate { fail("log store write", "host \(host.index + 1): \(refused)") }
            }
            if let violation { throw violation }
        }
        if let found = history.violation() {
            throw HostSimulationFailure(seed: options.seed, timeMilliseconds: time.now, invariant: "linearizability", detail: found)
        }
        report.simulatedMilliseconds = time.now
        for host in hosts {
            report.leadershipsWon += host.leadershipsWonBefore + Int(host.node?.counters.leadershipsWon.load(ordering: .relaxed) ?? 0)
            report.snapshotsInstalled += host.snapshotsInstalledBefore + Int(host.node?.counters.snapshotsInstalled.load(ordering: .relaxed) ?? 0)
            report.storeWrites += host.store.writeCount
            report.writesRefused += host.store.refusalCount
        }
        return report
    }

    private func fail(_ invariant: String, _ detail: String) {
        guard violation == nil else { return }
        violation = HostSimulationFailure(seed: options.seed, timeMilliseconds: time.now, invariant: invariant, detail: detail)
    }

    private func schedule(_ event: Event, after milliseconds: UInt64) {
        sequence += 1
        queue.insert(Scheduled(time: time.now + milliseconds, sequence: sequence, event: event))
    }

    private func mix(_ value: UInt64) {
        report.fingerprint = (report.fingerprint ^ value) &* 0x0000_0100_0000_01B3
    }

    // MARK: - Set-up

    private func setUp() throws {
        trace?("options: \(options)")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        hosts = (0..<options.hostCount).map { SimulatedHost(index: $0, dataDirectory: "\(root)/host-\($0 + 1)") }
        for host in hosts.indices { try start(host, bootstrap: true) }
        for client in 0..<options.clientCount { schedule(.clientStep(client: client), after: random.between(1, 20)) }
        if options.crashes || options.networkFaults { schedule(.fault, after: random.between(20, options.meanFaultIntervalMilliseconds)) }
        schedule(.faultsEnd, after: options.faultMilliseconds)
    }

    private func tearDown() {
        for host in hosts {
            host.node = nil
            host.store.crash()
        }
        hosts = []
        queue = Heap()
        try? FileManager.default.removeItem(atPath: root)
    }

    private func configuration(of host: SimulatedHost) -> NodeHostConfiguration {
        var configuration = NodeHostConfiguration(nodeID: host.id, clusterID: 7, dataDirectory: host.dataDirectory)
        configuration.shardCount = UInt64(options.shardCount)
        configuration.workerCount = options.workerCount
        configuration.tickMilliseconds = options.tickMilliseconds
        configuration.electionTimeoutTicks = options.electionTimeoutTicks
        configuration.heartbeatIntervalTicks = options.heartbeatIntervalTicks
        configuration.snapshotEveryEntries = options.snapshotEveryEntries
        configuration.compactionKeepEntries = options.compactionKeepEntries
        configuration.quiesceAfterTicks = options.quiesceAfterTicks
        configuration.requestTimeoutMilliseconds = options.requestTimeoutMilliseconds
        let time = self.time
        configuration.wallClockMilliseconds = { 1_700_000_000_000 + time.now }
        return configuration
    }

    /// Starts a new incarnation of `index` over its store (first boot bootstraps every shard).
    private func start(_ index: Int, bootstrap: Bool) throws {
        let host = hosts[index]
        host.incarnation += 1
        host.failStopped = false
        host.checkedApplied = [:]
        let incarnation = host.incarnation
        host.store.submitted = { [unowned self] in self.storeSubmitted(host: index, incarnation: incarnation) }
        host.store.madeDurable = { [unowned self] writes in self.complete(writes, host: index, incarnation: incarnation) }
        let node = try NodeHost(
            configuration: configuration(of: host), store: host.store,
            transport: SimulatedTransport(simulator: self, host: index, incarnation: incarnation),
            events: { [unowned self] event in self.trace?("\(self.time.now) host \(index + 1): \(event)") },
            failStop: { [unowned self] reason in self.failStopped(host: index, incarnation: incarnation, reason: reason) },
            clock: SimulatedHostClock(time: time, startMilliseconds: time.now),
            snapshotWriter: SimulatedSnapshotExecutor(simulator: self, host: index, incarnation: incarnation))
        if bootstrap && index < options.initialVoterCount {
            let voters = hosts.prefix(options.initialVoterCount)
            let membership = Membership(voters: Dictionary(uniqueKeysWithValues: voters.map { ($0.id, "host-\($0.id)") }))
            for shard in shards { try node.bootstrapShard(ShardID(shard), membership: membership) }
        }
        node.startDriven()
        host.node = node
        host.assembler = SnapshotAssembler(directory: host.dataDirectory + "/incoming")
        schedule(.tick(host: index, incarnation: incarnation), after: random.between(1, UInt64(options.tickMilliseconds)))
        wake(index)
    }

    // MARK: - Events

    private func handle(_ event: Event) {
        switch event {
        case .tick(let index, let incarnation):
            mix(1 &+ UInt64(index) << 8)
            guard let node = current(index, incarnation) else { return }
            node.tick()
            wake(index)
            schedule(.tick(host: index, incarnation: incarnation), after: UInt64(options.tickMilliseconds))
        case .deliver(let from, let to, let epoch, let message):
            mix(2 &+ UInt64(to) << 8 &+ message.message.term.rawValue << 16)
            trace?("\(time.now) deliver \(from + 1)->\(to + 1) shard \(message.shard): \(message.message.kind)")
            // As over TCP, nothing sent on a connection arrives once it is lost (and heard of).
            guard !blocked.contains(Link(from: from, to: to)), epoch == connectionEpoch(from, to) || options.messagesOutliveConnections,
                  let node = hosts[to].node else {
                report.messagesDropped += 1
                return
            }
            report.messagesDelivered += 1
            node.receive([message])
            wake(to)
        case .transferSnapshot(let from, let incarnation, let message, let file, let completion):
            mix(3 &+ UInt64(from) << 8)
            transferSnapshot(from: from, incarnation: incarnation, message, file: file, completion: completion)
        case .snapshotTransferred(let index, let incarnation, let completion, let succeeded):
            mix(4 &+ UInt64(index) << 8)
            guard current(index, incarnation) != nil else { return }
            completion(succeeded)
            wake(index)
        case .storeSync(let index, let incarnation):
            mix(5 &+ UInt64(index) << 8)
            guard current(index, incarnation) != nil else { return }
            sync(index, incarnation: incarnation)
        case .storeCompletion(let index, let incarnation, let completion, let outcome):
            mix(6 &+ UInt64(index) << 8)
            guard current(index, incarnation) != nil else { return }
            switch outcome {
            case .durable: completion(.success(()))
            case .refused: completion(.failure(SimulatedHostLogStore.NoRoom()))
            case .failed(let reason): completion(.failure(HostStoreFailure(reason)))
            }
            wake(index)
        case .snapshotJob(let index, let incarnation, let job):
            mix(7 &+ UInt64(index) << 8)
            guard current(index, incarnation) != nil else { return }
            report.snapshotsWritten += 1
            job()
            wake(index)
        case .clientStep(let client):
            mix(8 &+ UInt64(client) << 8)
            clientStep(client)
        case .crash(let index):
            mix(9 &+ UInt64(index) << 8)
            crash(index)
        case .restart(let index):
            mix(10 &+ UInt64(index) << 8)
            restart(index)
        case .fault:
            mix(11)
            guard faultsActive else { return }
            injectFault()
            let mean = options.meanFaultIntervalMilliseconds
            schedule(.fault, after: random.between(mean / 2, mean * 3 / 2))
        case .processExit(let index, let incarnation):
            mix(12 &+ UInt64(index) << 8)
            guard current(index, incarnation) != nil else { return }
            trace?("\(time.now) host \(index + 1) exits after its store failed")
            crash(index)
            schedule(.restart(host: index), after: random.between(20, 300))
        case .faultsEnd:
            mix(13)
            endFaults()
        case .storeFull(let index, let full):
            mix(15 &+ UInt64(index) << 8)
            guard full == false || faultsActive else { return }
            trace?("\(time.now) host \(index + 1): store \(full ? "full" : "has room again")")
            hosts[index].store.isFull = full
        case .peerLost(let index, let incarnation, let peer):
            mix(16 &+ UInt64(index) << 8 &+ UInt64(peer) << 16)
            guard let node = current(index, incarnation) else { return }
            trace?("\(time.now) host \(index + 1) lost its connection with host \(peer + 1)")
            node.peerLost(hosts[peer].id)
            wake(index)
        case .connectionTimeout(let first, let second):
            mix(17 &+ UInt64(first) << 8 &+ UInt64(second) << 16)
            if isCut(first, second) { loseConnection(first, second, after: 0) }
        case .idleCheck:
            mix(18)
            checkLeadersAfterIdle()
        case .drain(let index, let incarnation):
            mix(14 &+ UInt64(index) << 8)
            guard current(index, incarnation) != nil else { return }
            drainScheduled[index] = false
            drain(index)
        }
    }

    private func current(_ index: Int, _ incarnation: Int) -> NodeHost? {
        hosts[index].incarnation == incarnation ? hosts[index].node : nil
    }

    /// Something was queued to the host's workers: they run a round a little later (a worker
    /// thread wakes, or is busy), so that what arrives meanwhile is taken in the same round, as
    /// in production.
    private func wake(_ index: Int) {
        let host = hosts[index]
        guard host.isUp, !drainScheduled[index] else { return }
        drainScheduled[index] = true
        let delay = faultsActive && random.chance(options.slowWorkerProbability) ? random.between(2, 10) : random.between(0, 1)
        schedule(.drain(host: index, incarnation: host.incarnation), after: delay)
    }

    /// Runs the host's rounds until its queues are empty, then compares its state machines.
    private func drain(_ index: Int) {
        guard let node = hosts[index].node else { return }
        node.runQueuedRounds()
        checkAgreement(index, node)
    }

    private func checkAgreement(_ index: Int, _ node: NodeHost) {
        let host = hosts[index]
        for state in node.appliedStates() where host.checkedApplied[state.shard] != state.appliedIndex {
            host.checkedApplied[state.shard] = state.appliedIndex
            let digest = Self.digest(state.stateMachine)
            if let seen = appliedDigests[state.shard]?[state.appliedIndex] {
                if seen.digest != digest {
                    fail("state machine agreement", "shard \(state.shard) at applied index \(state.appliedIndex): host \(index + 1) differs from host \(seen.host + 1)")
                }
            } else {
                appliedDigests[state.shard, default: [:]][state.appliedIndex] = (digest, index)
            }
        }
    }

    static func digest(_ stateMachine: KeyValueStateMachine) -> UInt64 {
        var bytes: [UInt8] = []
        for key in stateMachine.values.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            bytes += key
            bytes.append(0xFF)
            bytes += stateMachine.values[key]!
            bytes.append(0xFE)
            if let expiry = stateMachine.expiries[key] { bytes += withUnsafeBytes(of: expiry.littleEndian) { Array($0) } }
            bytes.append(0xFD)
        }
        return fnv1a64(bytes)
    }

    // MARK: - Network

    func send(_ messages: [ShardMessage], from index: Int, incarnation: Int) {
        guard hosts[index].incarnation == incarnation, hosts[index].isUp else { return }
        if hosts[index].failStopped {
            fail("fail-stop", "host \(index + 1) sent \(messages.count) messages after its store failed")
            return
        }
        for message in messages {
            let to = Int(message.message.to.rawValue) - 1
            guard hosts.indices.contains(to), to != index else { continue }
            if blocked.contains(Link(from: index, to: to))
                || (lostConnections.contains(Link(from: min(index, to), to: max(index, to))) && !options.messagesOutliveConnections)
                || (faultsActive && random.chance(options.dropProbability)) {
                report.messagesDropped += 1
                continue
            }
            let epoch = connectionEpoch(index, to)
            schedule(.deliver(from: index, to: to, epoch: epoch, message), after: messageDelay())
            if faultsActive && random.chance(options.duplicateProbability) {
                schedule(.deliver(from: index, to: to, epoch: epoch, message), after: messageDelay() + random.between(0, 30))
            }
        }
    }

    private func messageDelay() -> UInt64 {
        faultsActive && random.chance(options.slowMessageProbability) ? random.between(20, 80) : random.between(1, 4)
    }

    func sendSnapshot(_ message: ShardMessage, file: String, from index: Int, incarnation: Int,
                      completion: @escaping @Sendable (Bool) -> Void) {
        guard hosts[index].incarnation == incarnation, hosts[index].isUp else { return }
        if hosts[index].failStopped { fail("fail-stop", "host \(index + 1) sent a snapshot after its store failed") }
        report.snapshotsSent += 1
        schedule(.transferSnapshot(from: index, incarnation: incarnation, message, file: file, completion: completion),
                 after: random.between(5, 40))
    }

    /// The snapshot's chunks go through the receiver's real `SnapshotAssembler` and
    /// `receiveSnapshot`, as over TCP; the sender hears whether it was taken a little later.
    private func transferSnapshot(from index: Int, incarnation: Int, _ message: ShardMessage, file: String,
                                  completion: @escaping @Sendable (Bool) -> Void) {
        let to = Int(message.message.to.rawValue) - 1
        var succeeded = false
        if hosts.indices.contains(to), !blocked.contains(Link(from: index, to: to)),
           !(faultsActive && random.chance(options.dropProbability)),
           let node = hosts[to].node, let assembler = hosts[to].assembler {
            let transferID = nextTransferID
            nextTransferID += 1
            if let chunks = try? SnapshotAssembler.chunks(of: file, message: message, transferID: transferID, chunkBytes: 4_096) {
                chunkLoop: for chunk in chunks {
                    switch assembler.receive(chunk) {
                    case .accepted:
                        continue
                    case .rejected:
                        break chunkLoop
                    case .complete(let complete, let assembled):
                        succeeded = node.receiveSnapshot(ShardMessage(shard: chunk.shard, message: complete), file: assembled)
                    }
                }
            }
            wake(to)
        }
        trace?("\(time.now) snapshot \(index + 1)->\(to + 1) shard \(message.shard): \(succeeded ? "taken" : "failed")")
        schedule(.snapshotTransferred(host: index, incarnation: incarnation, completion: completion, succeeded: succeeded),
                 after: random.between(1, 5))
    }

    /// A link is back in both directions: as over TCP, each side sees the other connect.
    /// A lost connection between two up hosts is re-established: as over TCP, each side sees
    /// the other connect.
    private func connected(_ first: Int, _ second: Int) {
        let pair = Link(from: min(first, second), to: max(first, second))
        guard lostConnections.contains(pair), let firstNode = hosts[first].node, let secondNode = hosts[second].node,
              !isCut(first, second) else { return }
        lostConnections.remove(pair)
        firstNode.peerConnected(hosts[second].id)
        secondNode.peerConnected(hosts[first].id)
        wake(first)
        wake(second)
    }

    /// Which connection between the two hosts is current: messages of an earlier one are lost.
    private func connectionEpoch(_ first: Int, _ second: Int) -> Int {
        connectionEpochs[Link(from: min(first, second), to: max(first, second))] ?? 0
    }

    private func isCut(_ first: Int, _ second: Int) -> Bool {
        blocked.contains(Link(from: first, to: second)) || blocked.contains(Link(from: second, to: first))
    }

    /// The connection between two hosts is gone (a crash, or a cut that outlasted the
    /// keepalive): each side still up hears of it (`peerLost`) a little later.
    private func loseConnection(_ first: Int, _ second: Int, after milliseconds: UInt64) {
        let pair = Link(from: min(first, second), to: max(first, second))
        guard !lostConnections.contains(pair) else { return }
        lostConnections.insert(pair)
        connectionEpochs[pair, default: 0] += 1
        for (index, peer) in [(first, second), (second, first)] where hosts[index].isUp {
            schedule(.peerLost(host: index, incarnation: hosts[index].incarnation, peer: peer), after: milliseconds)
        }
    }

    private func setBlocked(_ links: Set<Link>) {
        let previously = blocked
        blocked = links
        for first in hosts.indices {
            for second in hosts.indices where first < second {
                let wasCut = previously.contains(Link(from: first, to: second)) || previously.contains(Link(from: second, to: first))
                if wasCut && !isCut(first, second) {
                    connected(first, second)
                } else if !wasCut && isCut(first, second) {
                    schedule(.connectionTimeout(first: first, second: second), after: random.between(20, 200))
                }
            }
        }
    }

    // MARK: - Store

    private func storeSubmitted(host index: Int, incarnation: Int) {
        let host = hosts[index]
        guard host.incarnation == incarnation else { return }
        if host.failStopped { fail("fail-stop", "host \(index + 1) wrote to its store after the store failed") }
        if options.unsafeCompleteBeforeDurable, let early = host.store.takeLastCompletion() {
            complete([(early, false)], host: index, incarnation: incarnation)
        }
        guard !syncScheduled[index] else { return }
        syncScheduled[index] = true
        let slow = faultsActive && random.chance(options.slowSyncProbability)
        schedule(.storeSync(host: index, incarnation: incarnation), after: slow ? random.between(10, 60) : random.between(1, 4))
    }

    /// Some of the pending writes become durable (group commit), or, rarely, the sync fails.
    private func sync(_ index: Int, incarnation: Int) {
        let store = hosts[index].store
        syncScheduled[index] = false
        guard !store.pending.isEmpty else { return }
        if store.isFailed || (faultsActive && options.storeFailures && random.chance(options.storeFailureProbability)) {
            let writes = store.failPending(durableCount: Int(random.below(UInt64(store.pending.count + 1))))
            trace?("\(time.now) host \(index + 1): sync fails (\(writes.count) writes)")
            complete(writes.map { ($0, false) }, host: index, incarnation: incarnation, failure: SimulatedHostLogStore.syncFailure)
            return
        }
        let count = random.chance(0.8) ? store.pending.count : Int(random.between(1, UInt64(store.pending.count)))
        complete(store.makeDurable(count: count), host: index, incarnation: incarnation)
        if !store.pending.isEmpty {
            syncScheduled[index] = true
            schedule(.storeSync(host: index, incarnation: incarnation), after: random.between(1, 4))
        }
    }

    /// Delivers completions in the order the writes were submitted: durable or refused, or all
    /// failed with `failure`.
    private func complete(_ writes: [(write: SimulatedHostLogStore.PendingWrite, refused: Bool)], host index: Int, incarnation: Int,
                          failure: String? = nil) {
        guard !writes.isEmpty else { return }
        let due = max(time.now + random.between(0, 2), lastCompletionMilliseconds[index])
        lastCompletionMilliseconds[index] = due
        for (write, refused) in writes {
            let outcome: StoreOutcome = failure.map { .failed($0) } ?? (refused ? .refused : .durable)
            schedule(.storeCompletion(host: index, incarnation: incarnation, completion: write.completion, outcome: outcome),
                     after: due - time.now)
        }
    }

    private func failStopped(host index: Int, incarnation: Int, reason: String) {
        guard hosts[index].incarnation == incarnation, !hosts[index].failStopped else { return }
        trace?("\(time.now) host \(index + 1) fail-stops: \(reason)")
        // Only the store's failures may stop a host; any other reason is the host's own
        // finding (an entry it cannot apply, a store that broke its order).
        if reason != SimulatedHostLogStore.syncFailure && reason != SimulatedHostLogStore.failedEarlier {
            fail("fail-stop", "host \(index + 1) stopped for a reason of its own: \(reason)")
        }
        report.failStops += 1
        // From the next event on: the round that learns of the failure may still finish items
        // taken before it (the process is exiting).
        promoteFailStops.append(index)
        schedule(.processExit(host: index, incarnation: incarnation), after: random.between(1, 5))
    }

    func scheduleSnapshotJob(_ job: @escaping @Sendable () -> Void, host index: Int, incarnation: Int) {
        schedule(.snapshotJob(host: index, incarnation: incarnation, job: job), after: random.between(1, 20))
    }

    // MARK: - Faults

    private func crash(_ index: Int) {
        let host = hosts[index]
        guard let node = host.node else { return }
        trace?("\(time.now) host \(index + 1) crashes (\(host.store.pending.count) writes not durable)")
        report.crashes += 1
        report.writesLostAtCrash += host.store.pending.count
        host.store.crash()
        host.leadershipsWonBefore += Int(node.counters.leadershipsWon.load(ordering: .relaxed))
        host.snapshotsInstalledBefore += Int(node.counters.snapshotsInstalled.load(ordering: .relaxed))
        host.node = nil
        host.assembler = nil
        for other in hosts.indices where other != index { loseConnection(index, other, after: random.between(1, 10)) }
        syncScheduled[index] = false
        drainScheduled[index] = false
        // Requests waiting on it are never answered: their outcome is unknown.
        for id in outstanding.keys.sorted() where outstanding[id]!.host == index && outstanding[id]!.incarnation == host.incarnation {
            let request = outstanding.removeValue(forKey: id)!
            clientBusy[request.client] = false
            schedule(.clientStep(client: request.client), after: random.between(1, 10))
        }
    }

    private func restart(_ index: Int) {
        let host = hosts[index]
        guard !host.isUp, !host.retired else { return }
        trace?("\(time.now) host \(index + 1) restarts")
        report.restarts += 1
        do {
            try start(index, bootstrap: false)
        } catch {
            fail("restart", "host \(index + 1) cannot restart from its store: \(error)")
            return
        }
        for other in hosts.indices where other != index { connected(index, other) }
    }

    private func injectFault() {
        let count = hosts.count
        if options.crashes && random.chance(options.crashShare) {
            let index = Int(random.below(UInt64(count)))
            guard hosts[index].isUp else { return }
            crash(index)
            schedule(.restart(host: index), after: random.between(20, 600))
            return
        }
        if options.storeRefusals && random.chance(0.1) {
            let index = Int(random.below(UInt64(count)))
            guard !hosts[index].store.isFull else { return }
            report.storeFullPeriods += 1
            schedule(.storeFull(host: index, full: true), after: 0)
            schedule(.storeFull(host: index, full: false), after: random.between(20, 400))
            return
        }
        guard options.networkFaults else { return }
        let draw = random.below(10)
        var links: Set<Link> = []
        switch draw {
        case 0...2:
            trace?("\(time.now) network heals")
        case 3...5:
            let side = Set(random.shuffled(Array(0..<count)).prefix(Int(random.between(1, UInt64(count / 2)))))
            for from in 0..<count {
                for to in 0..<count where side.contains(from) != side.contains(to) { links.insert(Link(from: from, to: to)) }
            }
            report.partitions += 1
            trace?("\(time.now) partition \(side.sorted().map { $0 + 1 }) from the rest")
        case 6...7:
            for _ in 0..<random.between(1, UInt64(count)) {
                let from = Int(random.below(UInt64(count)))
                let to = Int(random.below(UInt64(count)))
                if from != to { links.insert(Link(from: from, to: to)) }
            }
            report.oneWayPartitions += 1
            trace?("\(time.now) one-way cuts \(links.map { "\($0.from + 1)->\($0.to + 1)" }.sorted())")
        default:
            let isolated = Int(random.below(UInt64(count)))
            for other in 0..<count where other != isolated {
                links.insert(Link(from: isolated, to: other))
                links.insert(Link(from: other, to: isolated))
            }
            report.partitions += 1
            trace?("\(time.now) host \(isolated + 1) isolated")
        }
        setBlocked(links)
    }

    /// Faults stop: the network heals, and every host is restarted, or, in liveness mode, only
    /// a random majority (the core) is, the rest going down for good.
    private func endFaults() {
        faultsActive = false
        faultsEndedAt = time.now
        for host in hosts { host.store.isFull = false }
        var core = Set(hosts.indices)
        if options.liveness {
            core = Set(random.shuffled(Array(hosts.indices)).prefix(hosts.count / 2 + 1))
            report.livenessRuns += 1
            for index in hosts.indices where !core.contains(index) {
                crash(index)
                hosts[index].retired = true
            }
        }
        trace?("\(time.now) faults end; core \(core.sorted().map { $0 + 1 })")
        setBlocked([])
        for index in core.sorted() where !hosts[index].isUp { restart(index) }
        // No requests for a while: a shard whose leader died must elect a new one on its own
        // (a quiet shard included), and every replica learn of it.
        clientsIdleUntil = time.now + options.livenessIdleMilliseconds
        schedule(.idleCheck, after: options.livenessIdleMilliseconds)
    }

    /// After the quiet period: each shard has a leader among the hosts up, and every replica
    /// up that the newest leader's membership names knows that leader. (A replica
    /// removed while it was down, or before it applied its removal, never hears from a leader
    /// again: its log may still name it a member, and it is left out.)
    private func checkLeadersAfterIdle() {
        for shard in shards.map({ ShardID($0) }) {
            var newest: (term: Term, leader: ReplicaID, membership: Membership)?
            for host in hosts {
                guard let node = host.node, let state = node.appliedStates().first(where: { $0.shard == shard }),
                      state.role == .leader else { continue }
                if newest.map({ state.term > $0.term }) ?? true { newest = (state.term, host.id, state.latestMembership) }
            }
            guard let newest else {
                fail("liveness of the core", "\(options.livenessIdleMilliseconds) ms after faults ended, with no request: shard \(shard) has no leader (\(describe(shard)))")
                return
            }
            for index in hosts.indices where newest.membership.isMember(hosts[index].id) {
                guard let node = hosts[index].node, let (role, leader) = node.roleAndLeader(in: shard) else { continue }
                if leader != newest.leader {
                    fail("liveness of the core", "\(options.livenessIdleMilliseconds) ms after faults ended, with no request: host \(index + 1) (\(role)) names \(leader) as leader of shard \(shard), not \(newest.leader) (term \(newest.term)) (\(describe(shard)))")
                    return
                }
            }
        }
    }

    /// Every up host's view of `shard` (role, term, leader, indexes, quiet), for a failure's
    /// detail and the trace; read from the workers directly, so it changes nothing.
    private func describe(_ shard: ShardID) -> String {
        hosts.map { host -> String in
            guard let node = host.node else { return "host \(host.index + 1) down" }
            guard let state = node.appliedStates().first(where: { $0.shard == shard }) else { return "host \(host.index + 1) holds no replica" }
            return "host \(host.index + 1): \(state.role) term \(state.term) leader \(state.leader) commit \(state.commitIndex) last \(state.lastIndex) "
                + "idle \(state.ticksSinceActivity) election elapsed \(state.electionElapsedTicks)\(state.isQuiet ? " quiet" : "")"
        }.joined(separator: "; ")
    }

    // MARK: - Workload

    private func clientStep(_ client: Int) {
        guard !clientBusy[client], !finished else { return }
        if time.now < clientsIdleUntil {
            schedule(.clientStep(client: client), after: clientsIdleUntil - time.now + random.between(0, 5))
            return
        }
        let register: RegisterHistory.Register
        var operation: Operation
        if finalReadsStamp != nil {
            guard let next = random.pick(finalReadsRemaining) else { return }
            register = next
            operation = .get
        } else {
            register = random.pick(registers)!
            let draw = random.below(1_000)
            switch draw {
            case 0..<350: operation = .put([])
            case 350..<500: operation = .compareAndSet(expected: lastSeen[register] ?? [], new: [])
            case 500..<600: operation = .delete
            case 600..<980: operation = .get
            case 980..<985: operation = .transfer(hosts[Int(random.below(UInt64(hosts.count)))].id)
            case 985..<990: operation = .snapshot
            default: operation = options.membershipChanges ? .addObserver(.none) : .get
            }
        }
        let up = hosts.indices.filter { hosts[$0].isUp }
        guard !up.isEmpty else {
            schedule(.clientStep(client: client), after: 10)
            return
        }
        let shard = ShardID(register.shard)
        let leaders = up.filter { hosts[$0].node!.role(in: shard) == .leader }
        let index = (!leaders.isEmpty && random.chance(0.8) ? random.pick(leaders) : random.pick(up))!
        let host = hosts[index]
        let node = host.node!
        if case .addObserver = operation {
            // The change is chosen from the membership the chosen host's log holds.
            guard let change = membershipChange(shard, on: node) else {
                schedule(.clientStep(client: client), after: random.between(1, 5))
                return
            }
            operation = change
        }
        let id = nextRequestID
        nextRequestID += 1
        stamp += 1
        let value = Array("c\(client)-r\(id)".utf8)
        var writePosition: Int?
        var label = "request \(id) on host \(index + 1)"
        switch operation {
        case .put:
            operation = .put(value)
            label = "put \(String(decoding: value, as: UTF8.self)) (\(label))"
            writePosition = history.beginWrite(register, value: value, start: stamp, label: label)
            node.propose(shard, .put(key: register.key, value: value)) { [unowned self] in self.answers.append((id, .written($0))) }
        case .compareAndSet(let expected, _):
            operation = .compareAndSet(expected: expected, new: value)
            label = "compare-and-set \(String(decoding: expected, as: UTF8.self)) to \(String(decoding: value, as: UTF8.self)) (\(label))"
            writePosition = history.beginWrite(register, value: value, start: stamp, label: label)
            node.propose(shard, .compareAndSet(key: register.key, expected: expected, new: value)) { [unowned self] in
                self.answers.append((id, .written($0)))
            }
        case .delete:
            label = "delete (\(label))"
            writePosition = history.beginWrite(register, value: nil, start: stamp, label: label)
            node.propose(shard, .delete(key: register.key)) { [unowned self] in self.answers.append((id, .written($0))) }
        case .get:
            label = "read (\(label))"
            node.read(shard, key: register.key, linearizable: true) { [unowned self] in self.answers.append((id, .read($0))) }
        case .transfer(let target):
            node.transfer(shard, to: target) { [unowned self] in self.answers.append((id, .done($0))) }
        case .snapshot:
            node.snapshot(shard) { [unowned self] in self.answers.append((id, .snapshot($0))) }
        case .addObserver(let member):
            label = "add observer \(member) (\(label))"
            node.addObserver(shard, node: member, address: "host-\(member)") { [unowned self] in self.answers.append((id, .done($0))) }
        case .promote(let member):
            label = "promote \(member) (\(label))"
            node.promote(shard, node: member) { [unowned self] in self.answers.append((id, .done($0))) }
        case .remove(let member):
            label = "remove \(member) (\(label))"
            node.remove(shard, node: member) { [unowned self] in self.answers.append((id, .done($0))) }
        }
        trace?("\(time.now) client \(client): \(label)")
        outstanding[id] = Request(client: client, host: index, incarnation: host.incarnation, register: register,
                                  operation: operation, start: stamp, startMilliseconds: time.now,
                                  writePosition: writePosition, label: label)
        clientBusy[client] = true
        wake(index)
    }

    /// A membership change for `shard`, from the latest membership in `node`'s log: add a host
    /// that never was a member as an observer, promote an observer, or remove a member (never
    /// leaving fewer than three voters).
    private func membershipChange(_ shard: ShardID, on node: NodeHost) -> Operation? {
        guard let membership = node.appliedStates().first(where: { $0.shard == shard })?.latestMembership else { return nil }
        let strangers = hosts.map(\.id).filter { !membership.isMember($0) && !membership.removed.contains($0) }
        var choices: [Operation] = strangers.map { .addObserver($0) }
        choices += membership.observers.map { .promote($0) }
        choices += membership.observers.map { .remove($0) }
        if membership.voters.count > 3 { choices += membership.voters.map { .remove($0) } }
        return random.pick(choices)
    }

    /// Takes the answers the event's rounds gave, in request order (the host answers a round's
    /// requests in an order of its own; taking them sorted keeps the run deterministic).
    private func processAnswers() {
        guard !answers.isEmpty else { return }
        let batch = answers.sorted { $0.id < $1.id }
        answers = []
        for (id, answer) in batch {
            guard let request = outstanding.removeValue(forKey: id) else {
                fail("answered once", "request \(id) was answered again (or after its host crashed)")
                continue
            }
            stamp += 1
            mix(UInt64(id) << 20 &+ (answer.failure == nil ? 1 : 2))
            let host = hosts[request.host]
            if answer.failure == nil && host.incarnation == request.incarnation && host.failStopped {
                fail("fail-stop", "host \(request.host + 1) answered \(request.label) with success after its store failed")
            }
            trace?("\(time.now) answer to \(request.label): \(answer)")
            record(request, answer)
            clientBusy[request.client] = false
            schedule(.clientStep(client: request.client), after: answer.failure == nil ? random.between(0, 5) : random.between(5, 20))
        }
    }

    private func record(_ request: Request, _ answer: Answer) {
        let register = request.register
        let afterFaults = faultsEndedAt.map { request.startMilliseconds >= $0 } ?? false
        switch answer {
        case .written(.success(let result)):
            guard let position = request.writePosition else { return }
            if case .compareAndSet = request.operation, result == .mismatch {
                history.withdrawWrite(register, position: position)
                return
            }
            history.finishWrite(register, position: position, outcome: .acknowledged, end: stamp)
            report.writesAcknowledged += 1
            if afterFaults { shardsWritten.insert(register.shard) }
        case .written(.failure(let error)):
            report.requestsFailed += 1
            guard let position = request.writePosition, error != .timeout else { return }
            history.finishWrite(register, position: position, outcome: .notApplied, end: stamp)
        case .read(.success(let value)):
            history.addRead(register, value: value, start: request.start, end: stamp, label: request.label)
            report.readsCompleted += 1
            if let value { lastSeen[register] = value }
            if afterFaults { shardsRead.insert(register.shard) }
            if let finalStamp = finalReadsStamp, request.start > finalStamp {
                finalReadsRemaining.removeAll { $0 == register }
            }
        case .read(.failure), .done(.failure), .snapshot(.failure):
            report.requestsFailed += 1
        case .done(.success):
            switch request.operation {
            case .addObserver, .promote, .remove: report.membershipChanges += 1
            default: break
            }
        case .snapshot(.success):
            break
        }
    }

    /// Requests answered in time while their host lives; after the faults, the core's service
    /// within the bound.
    private func checkProgress() {
        let now = time.now
        let limit = UInt64(options.requestTimeoutMilliseconds + 20 * options.tickMilliseconds)
        for (id, request) in outstanding where now > request.startMilliseconds + limit {
            fail("answered in time", "request \(id) (\(request.label)) waited \(now - request.startMilliseconds) ms on a live host")
        }
        guard let ended = faultsEndedAt else { return }
        if finalReadsStamp == nil && shardsWritten.count == options.shardCount && shardsRead.count == options.shardCount {
            finalReadsStamp = stamp
            finalReadsRemaining = registers
            trace?("\(now) the core serves every shard; reading back every key")
        }
        if finalReadsStamp != nil && finalReadsRemaining.isEmpty {
            report.recoveryMillisecondsMax = now - ended
            finished = true
            return
        }
        if now > ended + options.livenessBoundMilliseconds {
            fail("liveness of the core",
                 "\(options.livenessBoundMilliseconds) ms after faults ended: shards written \(shardsWritten.sorted()), read \(shardsRead.sorted()), keys left to read back \(finalReadsRemaining.count)")
        }
    }
}
