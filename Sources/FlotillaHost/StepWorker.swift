import FlotillaThreads
import FlotillaRaft
import Foundation

/// A thread that owns a fixed partition of the host's shards. Each round it takes every queued
/// item, steps the shards they concern, then handles all ready shards together: their
/// leaders' messages go out first, committed entries are applied (answering their clients),
/// and every shard's updates are submitted as ONE store write (Dragonboat's step worker
/// design).
///
/// The worker does not wait for that write: it hands each shard's `Ready` off to the core
/// (`RaftNode.handOff`) and goes on, so a shard keeps replicating, committing and applying
/// while its write is in flight, and the next rounds' writes queue behind it and are
/// group-committed together. When a write is durable the worker tells the core
/// (`RaftNode.persisted`) and only then sends that round's votes and acknowledgements; the
/// acknowledgements of a later round that had nothing to write wait for the shard's writes
/// in flight. Writes become durable in the order submitted. So the step loop never sleeps in
/// fsync, and under load the store syncs once per transaction rather than twice (see the log
/// store's "durable after the next sync" rule). A `Ready` that installs a snapshot is the
/// exception: it is advanced only once durable.
final class StepWorker: @unchecked Sendable {
    let context: HostContext
    let queue: WorkQueue<WorkItem>
    /// Only touched on the worker's own thread.
    private var replicas: [ShardID: ShardReplica] = [:]
    /// Shards touched since the last round: only these can have something ready, so an idle
    /// host with thousands of shards does not scan them all each round.
    private var touched: Set<ShardID> = []
    /// Shards whose changed state is due for a write of its own (see `processReadies`).
    private var stateFlushDue: Set<ShardID> = []
    private let finished = DispatchSemaphore(value: 0)
    /// Rounds whose write is in flight: what to finish once it is durable.
    private var inflightWrites: [UInt64: [PersistedShard]] = [:]
    /// Snapshot records submitted to the store and not yet durable (a stop waits for them).
    private var snapshotRecordsInFlight = 0
    private var nextWriteID: UInt64 = 1
    /// Set by `stop`: requests are refused, writes in flight are waited for.
    private var stopping = false
    /// Set when the store failed for good: nothing is stepped, written or acknowledged again.
    private var failedStop = false
    /// Set while the store refuses this worker's writes for a reason that passes (a full disk
    /// or map): see `StoreRefusal`.
    private var storeRefusal: StoreRefusal?
    /// When the last refusal ended without any write getting through, and its retry delay: a
    /// store that is still full then backs off further instead of starting over, and is not
    /// logged again (a snapshot's record, say, refused on every try).
    private var previousRefusal: (endedMilliseconds: UInt64, retryDelayMilliseconds: UInt64)?
    /// The store keeps this worker's writes in order under this id.
    let id: StepWorkerID

    struct PersistedShard {
        var replica: ShardReplica
        /// Nil for a write of the shard's state alone (see `stateFlushDue`).
        var ready: Ready?
        var update: ReplicaLogUpdate
        var membershipChanged: Bool
        /// Handed off to the core at submission (`persisted` remains); false for a snapshot
        /// install, which is advanced once durable.
        var handedOff: Bool
    }

    init(context: HostContext, id: StepWorkerID) {
        self.context = context
        self.id = id
        queue = WorkQueue(capacity: context.configuration.workerQueueMax)
    }

    var configuration: NodeHostConfiguration { context.configuration }

    func start(name: String) {
        let thread = Thread { [self] in
            nameCurrentThread(name)
            run()
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Stops after the queued work and the writes in flight; waiting requests fail (see
    /// `ShardReplica.failAll`).
    func stop() {
        queue.push(.stop, force: true)
        finished.wait()
        queue.close()
    }

    /// The worker's thread: rounds until stopped and every write in flight is finished.
    private func run() {
        while !isFinished {
            let items = queue.takeAll()
            if items.isEmpty { break }
            runRound(items)
        }
        finishStopping()
    }

    /// Whether a stop was asked for and nothing submitted is still in flight.
    var isFinished: Bool { stopping && inflightWrites.isEmpty && snapshotRecordsInFlight == 0 }

    /// One round: handles the items taken from the queue, then the ready shards. The worker's
    /// thread runs it in production; a simulator runs it on its own thread, one round per
    /// batch it takes from the queue (`WorkQueue.takeAvailable`), with the same effect.
    func runRound(_ items: [WorkItem]) {
        // Another worker's write failed for good: this one stops too, before stepping anything.
        if !failedStop && context.hasFailedStop { enterFailStop() }
        for item in items {
            if case .stop = item {
                if !stopping && !failedStop && storeRefusal == nil { writeStateAtStop() }
                stopping = true
                abandonRefusedWrites()
                continue
            }
            if stopping || failedStop {
                refuse(item)
                continue
            }
            handle(item)
        }
        if stopping || failedStop { return }
        // Advancing may leave more to do at once (a leader's own write completing a commit):
        // keep going while any touched shard is ready.
        var rounds = 0
        // Once for the state writes due (an idle shard's, which touched nothing), then while
        // anything is touched.
        while (!touched.isEmpty || (rounds == 0 && !stateFlushDue.isEmpty)) && rounds < 64 {
            processReadies()
            rounds += 1
        }
    }

    /// A stop writes every shard's changed state, so that a host stopped cleanly restarts with
    /// nothing to apply again; the stop waits for it as for every write in flight.
    /// A replacement under way takes one write per step, so there may be several, in order.
    private func writeStateAtStop() {
        while true {
            var updates: [ReplicaLogUpdate] = []
            var persisting: [PersistedShard] = []
            var stateBytes = 0
            for shard in replicas.keys.sorted() where stateBytes < Self.stateBytesPerWriteMax {
                guard let replica = replicas[shard], replica.hasUnwrittenState, let state = takeStateWrite(replica) else { continue }
                stateBytes += state.sizeBytes
                var update = ReplicaLogUpdate(shard: shard)
                update.state = state
                updates.append(update)
                persisting.append(PersistedShard(replica: replica, ready: nil, update: update, membershipChanged: false, handedOff: true))
            }
            guard !updates.isEmpty else { return }
            submitRound(updates, persisting)
        }
    }

    /// Records a round's write as in flight for its shards and hands it to the store, or, while
    /// the store refuses writes, queues it behind the refused rounds (submitted once they are
    /// written).
    private func submitRound(_ updates: [ReplicaLogUpdate], _ persisting: [PersistedShard]) {
        guard !updates.isEmpty else { return }
        let id = nextWriteID
        nextWriteID += 1
        inflightWrites[id] = persisting
        for shard in persisting { shard.replica.writesInFlight += 1 }
        if storeRefusal != nil {
            storeRefusal?.wait(id)
        } else {
            submit(id, updates)
        }
    }

    /// After the last round of a stop: what still waits fails, and snapshot files that will
    /// never be recorded are removed.
    func finishStopping() {
        for replica in replicas.values {
            replica.failAll(.shuttingDown)
            if let waiting = replica.snapshotAwaitingRecord?.snapshot { unlink(waiting.file) }
        }
    }

    /// Each replica's state machine and the index it is applied through (for a caller that
    /// drives the rounds itself, between rounds).
    func appliedStates() -> [AppliedState] {
        replicas.values.map { replica in
            AppliedState(shard: replica.shard, appliedIndex: max(replica.appliedThrough, replica.node.appliedIndex),
                         role: replica.node.role, term: replica.node.term, stateMachine: replica.stateMachine,
                         latestMembership: replica.node.latestMembership, leader: replica.node.leader,
                         commitIndex: replica.node.commitIndex, lastIndex: replica.node.lastIndex, isQuiet: replica.isQuiet,
                         ticksSinceActivity: replica.ticksSinceActivity, electionElapsedTicks: replica.node.electionElapsedTicks)
        }
    }

    // MARK: - Items

    private func handle(_ item: WorkItem) {
        switch item {
        case .messages(let messages):
            for shardMessage in messages {
                if storeRefusal != nil && Self.growsTheLog(shardMessage.message) { continue }
                guard let replica = replicas[shardMessage.shard] ?? createJoiningReplica(for: shardMessage) else { continue }
                if Self.isActivity(shardMessage.message) { replica.noteActivity() }
                replica.node.step(shardMessage.message)
                touched.insert(shardMessage.shard)
            }
        case .propose(let shard, let command, let continuation):
            guard let replica = replica(shard, continuation) else { return }
            guard replica.pendingCount < configuration.pendingRequestsMax else {
                HostCounters.increment(context.counters.busyRefusals)
                continuation.resume(returning: .failure(.busy("\(replica.pendingCount) requests waiting on shard \(shard)")))
                return
            }
            if let refusal = storeRefusal {
                HostCounters.increment(context.counters.busyRefusals)
                continuation.resume(returning: .failure(.busy("this host's log store refuses writes: \(refusal.reason)")))
                return
            }
            do {
                // The leader's clock goes into the entry: every replica judges expiry by it.
                let entry = KeyValueEntry(timeMilliseconds: configuration.wallClockMilliseconds(), command: command)
                let position = try replica.node.propose(entry.encoded())
                replica.addPendingProposal(.init(term: position.term, deadline: context.deadline(),
                                                 continuation: continuation, isMembershipChange: false), at: position.index)
            } catch {
                continuation.resume(returning: .failure(NodeHostError(error)))
            }
        case .read(let shard, let query, let linearizable, let continuation):
            guard let replica = replica(shard, continuation) else { return }
            if !linearizable {
                continuation.resume(returning: .answer(replica.stateMachine.answer(query, at: configuration.wallClockMilliseconds())))
                return
            }
            guard replica.pendingCount < configuration.pendingRequestsMax else {
                HostCounters.increment(context.counters.busyRefusals)
                continuation.resume(returning: .failure(.busy("\(replica.pendingCount) requests waiting on shard \(shard)")))
                return
            }
            if storeRefusal != nil && replica.node.role != .leader {
                // A follower that cannot write cannot catch up to a read index: the leader
                // answers instead (the router relays on `notLeader`).
                continuation.resume(returning: .failure(.notLeader(leader: replica.node.leader)))
                return
            }
            let request = ReadRequestID(replica.nextReadID)
            replica.nextReadID += 1
            do {
                try replica.node.requestRead(request)
                replica.pendingReads[request] = .init(query: query, deadline: context.deadline(), continuation: continuation)
            } catch {
                continuation.resume(returning: .failure(NodeHostError(error)))
            }
        case .status(let shard, let continuation):
            // Asking for status is not activity (an idle shard stays quiet while watched), and
            // a removed replica still describes itself.
            if let replica = replicas[shard] {
                var status = replica.status
                status.shardCount = context.shardCount.load(ordering: .acquiring)
                continuation.resume(returning: .status(status))
            } else {
                continuation.resume(returning: .failure(.unknownShard(shard)))
            }
        case .admin(let shard, let operation, let continuation):
            guard let replica = replica(shard, continuation) else { return }
            administer(replica, operation, continuation)
        case .tick:
            let now = context.nowMilliseconds
            if storeRefusal != nil { retryRefusedWrites(now: now) }
            for replica in replicas.values {
                if storeRefusal == nil,
                   replica.sweep != nil || (replica.node.role == .leader && replica.stateMachine.nextExpiryMilliseconds != nil) {
                    sweepExpiredKeys(replica, now: now)
                }
                if replica.isQuiet && replica.ticksSinceActivity > 0 && replica.pendingCount == 0 {
                    replica.ticksSinceActivity += 1
                    continue
                }
                replica.isQuiet = isQuiesced(replica)
                if !replica.isQuiet {
                    replica.node.tick()
                    touched.insert(replica.shard)
                }
                if replica.ticksSinceActivity < Int.max { replica.ticksSinceActivity += 1 }
                if replica.pendingCount > 0 { expireRequests(replica, now: now) }
                if replica.writesInFlight == 0 && replica.snapshotAwaitingRecord == nil && isStateWriteDue(replica) {
                    stateFlushDue.insert(replica.shard)
                }
            }
        case .snapshotReceived(let shardMessage, let stateMachine, let file):
            guard storeRefusal == nil, let replica = replicas[shardMessage.shard] ?? createJoiningReplica(for: shardMessage),
                  case .installSnapshot(let metadata) = shardMessage.message.kind else {
                unlink(file)
                return
            }
            if let stale = replica.receivedSnapshots[metadata.index] { unlink(stale.file) }
            replica.receivedSnapshots[metadata.index] = (stateMachine, file)
            replica.node.step(shardMessage.message)
            touched.insert(shardMessage.shard)
        case .snapshotSent(let shard, let peer, let succeeded):
            if !succeeded { context.events(HostEvent(.warning, "sending a snapshot failed", shard: shard, peer: peer)) }
            replicas[shard]?.node.reportSnapshot(to: peer, succeeded: succeeded)
            if !succeeded { replicas[shard]?.node.reportUnreachable(peer) }
            touched.insert(shard)
        case .addReplica(let stored, let shard, _, _):
            guard replicas[shard] == nil, let stored else { return }
            do {
                replicas[shard] = try restoreReplica(stored)
                touched.insert(shard)
            } catch {
                context.events(HostEvent(.error, "cannot start replica: \(error)", shard: shard))
            }
        case .persisted(let id, let failure):
            persisted(id, failure: failure)
        case .peerConnected(let peer):
            for replica in replicas.values where replica.isQuiet && replica.node.role == .leader {
                let membership = replica.node.latestMembership
                guard membership.voterAddresses[peer] != nil || membership.observerAddresses[peer] != nil else { continue }
                replica.noteActivity()
                touched.insert(replica.shard)
            }
        case .peerLost(let peer):
            // Followers whose leader it was start their election timers; leaders with it as a
            // member tick again, so CheckQuorum sees whether they still lead a quorum. A
            // follower still awake is woken too: its quiet countdown starts again, and without
            // the leader's heartbeats it cannot fall quiet before its election timeout (see
            // `isQuiesced`), where one that had just heard the leader's last heartbeat could.
            for replica in replicas.values where replica.isQuiet || replica.node.role != .leader {
                let node = replica.node
                let membership = node.latestMembership
                let wakes = node.role == .leader
                    ? membership.voterAddresses[peer] != nil || membership.observerAddresses[peer] != nil
                    : node.leader == peer
                guard wakes else { continue }
                replica.noteActivity()
                touched.insert(replica.shard)
            }
        case .snapshotWritten(let shard, let metadata, let file, let failure):
            snapshotWritten(shard, metadata, file: file, failure: failure)
        case .snapshotRecorded(let update, let failure):
            snapshotRecorded(update, failure: failure)
        case .stop:
            break
        }
    }

    /// While stopping: a write finishing is completed, everything else is refused.
    private func refuse(_ item: WorkItem) {
        switch item {
        case .propose(_, _, let continuation), .read(_, _, _, let continuation), .admin(_, _, let continuation),
             .status(_, let continuation):
            continuation.resume(returning: .failure(.shuttingDown))
        case .persisted(let id, let failure):
            persisted(id, failure: failure)
        case .snapshotRecorded(let update, let failure):
            snapshotRecorded(update, failure: failure)
        case .snapshotWritten(let shard, _, let file, let failure):
            if failure == nil { unlink(file) }
            if let replica = replicas[shard] {
                replica.snapshotInFlight = nil
                answerSnapshotWaiters(replica, .failure(.shuttingDown))
            }
        case .snapshotReceived(_, _, let file):
            unlink(file)
        case .messages, .tick, .snapshotSent, .addReplica, .peerConnected, .peerLost, .stop:
            break
        }
    }

    /// Whether a message shows that something is happening in the shard. Heartbeats and the
    /// empty appends that carry a commit index do not, so that an idle shard can fall quiet.
    static func isActivity(_ message: Message) -> Bool {
        switch message.kind {
        case .heartbeat, .heartbeatResponse: return false
        case .append(let append): return !append.entries.isEmpty
        case .appendResponse(let response): return response.rejected
        default: return true
        }
    }

    /// An idle shard stops ticking (no heartbeats, no elections) once nothing has happened in
    /// it for `quiesceAfterTicks`: followers first, the leader two ticks later and only when
    /// every follower holds its whole log. Any request or any message other than a heartbeat
    /// wakes it; a quiet follower still answers heartbeats.
    ///
    /// A follower falls quiet only while its leader's heartbeats arrive (its election timer
    /// was reset within the last heartbeat interval and a tick): one whose leader died must
    /// stay awake until its election timeout, or the shard would stay without a leader, since
    /// a quiet follower no longer counts ticks. (Found by the host simulator, seeds 105 and
    /// 571: a follower woken by the loss of its leader fell quiet again before campaigning,
    /// and one whose leader died a few ticks before its quiet threshold fell quiet unwoken.)
    private func isQuiesced(_ replica: ShardReplica) -> Bool {
        let threshold = configuration.quiesceAfterTicks
        // A replica with requests waiting never falls quiet: their deadlines must keep running.
        guard threshold > 0, replica.ticksSinceActivity >= threshold, replica.pendingCount == 0 else { return false }
        let node = replica.node
        switch node.role {
        case .leader:
            return replica.ticksSinceActivity >= threshold + 2 && node.isReplicationIdle
        case .follower, .observer:
            return node.leader != .none && replica.ticksSinceActivity >= threshold
                && node.electionElapsedTicks <= configuration.heartbeatIntervalTicks + 1
        case .removed:
            return true
        case .preCandidate, .candidate:
            return false
        }
    }

    private func replica(_ shard: ShardID, _ continuation: HostContinuation) -> ShardReplica? {
        guard let replica = replicas[shard], replica.node.role != .removed else {
            continuation.resume(returning: .failure(.unknownShard(shard)))
            return nil
        }
        replica.noteActivity()
        touched.insert(shard)
        return replica
    }

    private func administer(_ replica: ShardReplica, _ operation: AdminOperation, _ continuation: HostContinuation) {
        switch operation {
        case .membershipChange(let change):
            if let refusal = storeRefusal {
                return continuation.resume(returning: .failure(.busy("this host's log store refuses writes: \(refusal.reason)")))
            }
            do {
                let position = try replica.node.proposeMembershipChange(change)
                replica.addPendingProposal(.init(term: position.term, deadline: context.deadline(),
                                                 continuation: continuation, isMembershipChange: true), at: position.index)
            } catch {
                continuation.resume(returning: .failure(NodeHostError(error)))
            }
        case .transfer(let target):
            if replica.node.isLeader && target == replica.node.id {
                continuation.resume(returning: .done)
                return
            }
            do {
                try replica.node.transferLeadership(to: target)
                replica.pendingTransfers.append(.init(target: target, deadline: context.deadline(), continuation: continuation))
            } catch {
                continuation.resume(returning: .failure(NodeHostError(error)))
            }
        case .snapshot:
            startSnapshot(replica, waiter: continuation)
        case .export(let directory):
            let absolute: String
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
            } catch {
                return continuation.resume(returning: .failure(.failed("export failed: \(error)")))
            }
            let metadata = replica.node.snapshotMetadataAtApplied
            let path = "\(absolute)/shard-\(replica.shard)-index-\(metadata.index).flsnap"
            let header = snapshotHeader(replica.shard, metadata)
            // A copy-on-write copy: written out on the snapshot thread, answered from there.
            let stateMachine = replica.stateMachine
            let submitted = context.snapshotWriter.submit {
                do {
                    try SnapshotFile.write(header, stateMachine: stateMachine, to: path)
                    continuation.resume(returning: .exported(metadata.index, path))
                } catch {
                    continuation.resume(returning: .failure(.failed("export failed: \(error)")))
                }
            }
            if !submitted { continuation.resume(returning: .failure(.busy("too many snapshots waiting to be written"))) }
        }
    }

    private func expireRequests(_ replica: ShardReplica, now: UInt64) {
        for (index, pending) in replica.pendingProposals where pending.deadline <= now {
            replica.pendingProposals[index] = nil
            pending.continuation.resume(returning: .failure(.timeout))
        }
        for (request, pending) in replica.pendingReads where pending.deadline <= now {
            replica.pendingReads[request] = nil
            pending.continuation.resume(returning: .failure(.timeout))
        }
        let expired = replica.pendingTransfers.filter { $0.deadline <= now }
        replica.pendingTransfers.removeAll { $0.deadline <= now }
        for pending in expired { pending.continuation.resume(returning: .failure(.timeout)) }
    }

    // MARK: - Replicas

    private func restoreReplica(_ stored: StoredReplica) throws -> ShardReplica {
        let log = ReplicaLogView(shard: stored.shard, store: context.store, stored: stored)
        var stateMachine = KeyValueStateMachine()
        var applied = AppliedPosition(index: .zero, term: .zero)
        var replacementPending = false
        let snapshotIndex = stored.snapshot?.metadata.index ?? .zero
        if let stateApplied = stored.stateApplied, stateApplied.index >= snapshotIndex {
            // The stored state: no snapshot file to read, and only the entries applied after its
            // last write to replay.
            stateMachine = try loadStoredState(stored.shard)
            applied = stateApplied
        } else if let snapshot = stored.snapshot, snapshot.metadata.index > .zero {
            // A snapshot whose state was never written (restored, or installed just before a
            // crash): its file, and the stored state is replaced by it at the first write.
            let loaded = try SnapshotFile.read(from: snapshot.file)
            guard loaded.header.shard == stored.shard, loaded.header.metadata.index == snapshot.metadata.index else {
                throw SnapshotFileError.corrupt("snapshot file \(snapshot.file) does not match its record")
            }
            stateMachine = loaded.stateMachine
            applied = AppliedPosition(index: snapshot.metadata.index, term: snapshot.metadata.term)
            replacementPending = true
        }
        // The replica's randomness (election timeouts), hashed once: taken as SplitMix64's state
        // directly, node n + 1's seed was node n's advanced one step (the node id was multiplied
        // by the generator's own increment), so hosts started in the same millisecond drew each
        // other's election timeouts one draw apart and two candidates could time out together
        // round after round (host simulator seed 12774: no leader for 1.5 s, ten split votes).
        var mixer = SeededRandom(seed: configuration.nodeID.rawValue &* 0x9E37_79B9_7F4A_7C15 &+ stored.shard.rawValue
                                     &+ context.nowMilliseconds)
        let seed = mixer.next()
        let node = RaftNode(configuration: configuration.raftConfiguration(seed: seed), storage: log, appliedIndex: applied.index)
        let replica = ShardReplica(shard: stored.shard, node: node, log: log)
        replica.stateMachine = stateMachine
        replica.appliedThrough = applied.index
        replica.appliedTerm = applied.term
        replica.writtenAppliedIndex = applied.index
        replica.stateReplacementPending = replacementPending
        replica.lastSnapshotIndex = snapshotIndex
        // Read ids start from the wall clock (in its top bits), so that they do not repeat
        // across restarts of the host (a deviation from a counter from 1, which repeated them:
        // see `ShardReplica.confirm`); a million reads a millisecond before they could meet.
        replica.nextReadID = configuration.wallClockMilliseconds() << 20
        replica.writtenHardState = stored.hardState
        replica.replayedThrough = stored.lastIndex
        publish(replica)
        return replica
    }

    /// The shard's stored state, read page by page.
    private func loadStoredState(_ shard: ShardID) throws -> KeyValueStateMachine {
        var values: [[UInt8]: [UInt8]] = [:]
        var expiries: [[UInt8]: UInt64] = [:]
        var after: [UInt8]?
        while true {
            let rows = try context.store.stateRows(shard: shard, after: after, limit: Self.stateRowsPerRead)
            for row in rows {
                values[row.key] = row.value
                if let expiry = row.expiryMilliseconds { expiries[row.key] = expiry }
            }
            guard rows.count == Self.stateRowsPerRead, let last = rows.last else { break }
            after = last.key
        }
        return KeyValueStateMachine(values: values, expiries: expiries)
    }

    static let stateRowsPerRead = 4_096

    /// A leader reached us for a shard we do not hold: we were added to it (`--join`, or an
    /// observer added later). Record the replica, empty; the leader sends a snapshot or the log.
    private func createJoiningReplica(for shardMessage: ShardMessage) -> ShardReplica? {
        switch shardMessage.message.kind {
        case .append, .heartbeat, .installSnapshot: break
        default: return nil
        }
        guard shardMessage.message.to == configuration.nodeID else { return nil }
        var update = ReplicaLogUpdate(shard: shardMessage.shard)
        update.record = ReplicaRecord(origin: .join)
        do {
            try context.store.persist([update])
        } catch {
            context.events(HostEvent(.error, "cannot record joining replica: \(error)", shard: shardMessage.shard))
            return nil
        }
        let stored = StoredReplica(shard: shardMessage.shard, record: ReplicaRecord(origin: .join), hardState: HardState(),
                                   snapshot: nil, firstIndex: LogIndex(1), lastIndex: .zero, compactedTerm: .zero)
        guard let replica = try? restoreReplica(stored) else { return nil }
        replicas[shardMessage.shard] = replica
        touched.insert(shardMessage.shard)
        context.events(HostEvent(.info, "joined the shard, contacted by its leader", shard: shardMessage.shard, term: shardMessage.message.term,
                                  peer: shardMessage.message.from))
        return replica
    }

    private func publish(_ replica: ShardReplica) {
        let node = replica.node
        context.publish(replica.shard, .init(role: node.role, leader: node.leader, term: node.term,
                                             members: node.latestMembership.voterAddresses.merging(node.latestMembership.observerAddresses) { first, _ in first }))
    }

    // MARK: - Ready processing

    private func processReadies() {
        var work: [(ShardReplica, Ready)] = []
        let candidates = touched.sorted()
        touched = []
        for shard in candidates {
            guard let replica = replicas[shard] else { continue }
            if replica.snapshotAwaitingRecord != nil && replica.writesInFlight > 0 { continue }
            if replica.node.hasReady {
                work.append((replica, replica.node.ready()))
            }
        }
        guard !work.isEmpty || !stateFlushDue.isEmpty else { return }
        // A new role is published before any message that announces it leaves: a peer that
        // hears of this replica's leadership (and tells a client) never finds this host's
        // table behind.
        for (replica, ready) in work where ready.roleChange != nil { publish(replica) }
        for (replica, ready) in work { send(ready.messages, from: replica) }
        // Committed entries are durable on a quorum already: apply them (and answer their
        // clients) before this round's write, so a commit never waits for an unrelated fsync.
        // A snapshot being installed is loaded after the write that records it.
        var membershipChanged: [ShardID: Bool] = [:]
        for (replica, ready) in work where ready.snapshot == nil {
            membershipChanged[replica.shard] = applyEntries(ready, to: replica)
        }
        // An entry that cannot be applied stops the host: nothing more is written.
        if failedStop { return }

        var updates: [ReplicaLogUpdate] = []
        var persisting: [PersistedShard] = []
        var stateBytes = 0
        let writes = work.map { needsWrite($0.1, $0.0) }
        for ((replica, ready), write) in zip(work, writes) where write {
            var update = ReplicaLogUpdate(shard: replica.shard)
            update.hardState = ready.hardState
            update.entries = ready.entries
            if let hardState = ready.hardState { replica.writtenHardState = hardState }
            if let metadata = ready.snapshot, let received = replica.receivedSnapshots[metadata.index] {
                var file = snapshotPath(replica.shard, metadata)
                ensureDirectory(for: replica.shard)
                if rename(received.file, file) != 0 {
                    // The record must name a file that exists: it stays where it was received
                    // (in the data dir too), rather than point at a path with nothing there.
                    context.events(HostEvent(.error, "cannot move received snapshot to \(file): \(String(cString: strerror(errno))); keeping it at \(received.file)",
                                             shard: replica.shard))
                    file = received.file
                }
                update.snapshot = StoredSnapshot(metadata: metadata, file: file)
                replica.receivedSnapshots[metadata.index] = (received.stateMachine, file)
            } else if stateBytes < Self.stateBytesPerWriteMax && isStateWriteDue(replica) {
                // The state's changes ride with a round's write: no sync of their own.
                update.state = takeStateWrite(replica)
                stateBytes += update.state?.sizeBytes ?? 0
            }
            updates.append(update)
            persisting.append(PersistedShard(replica: replica, ready: ready, update: update,
                                             membershipChanged: membershipChanged[replica.shard] ?? false,
                                             handedOff: ready.snapshot == nil))
        }
        // Shards whose state changed and that write nothing else: idle since the last tick, or
        // holding many changes. A shard waiting to record a snapshot submits nothing new.
        let flushing = stateFlushDue
        stateFlushDue = []
        let writing = Set(persisting.map(\.replica.shard))
        for shard in flushing.sorted() where !writing.contains(shard) {
            guard stateBytes < Self.stateBytesPerWriteMax else {
                stateFlushDue.insert(shard)
                continue
            }
            guard let replica = replicas[shard], replica.snapshotAwaitingRecord == nil, let state = takeStateWrite(replica) else { continue }
            stateBytes += state.sizeBytes
            var update = ReplicaLogUpdate(shard: shard)
            update.state = state
            updates.append(update)
            persisting.append(PersistedShard(replica: replica, ready: nil, update: update, membershipChanged: false, handedOff: true))
        }
        submitRound(updates, persisting)
        for shard in persisting where shard.handedOff {
            guard let ready = shard.ready else { continue }
            shard.replica.node.handOff(ready)
            finish(ready, on: shard.replica, membershipChanged: shard.membershipChanged, advance: false)
        }
        // Shards with nothing to write finish now; their acknowledgements wait for the shard's
        // writes in flight, if any.
        for ((replica, ready), write) in zip(work, writes) where !write {
            if replica.writesInFlight > 0 {
                replica.heldMessages.append(contentsOf: ready.messagesAfterPersist)
            } else {
                send(ready.messagesAfterPersist, from: replica)
            }
            finish(ready, on: replica, membershipChanged: membershipChanged[replica.shard] ?? false, advance: true)
            if replica.node.hasReady { touched.insert(replica.shard) }
        }
        for shard in persisting where shard.handedOff && shard.replica.node.hasReady { touched.insert(shard.replica.shard) }
    }

    /// Whether a `Ready` must be written before its acknowledgements leave. A change of the
    /// commit index alone is not written: the paper keeps the commit index volatile (figure 2),
    /// a restarted replica learns it again from the leader, and writing it would cost every
    /// replica a sync per commit round even when nothing else changed. It is written with the
    /// next entries or term change. (A deviation from etcd, which writes it whenever it
    /// changes.)
    private func needsWrite(_ ready: Ready, _ replica: ShardReplica) -> Bool {
        guard ready.needsPersistence else { return false }
        guard ready.entries.isEmpty, ready.snapshot == nil, let hardState = ready.hardState else { return true }
        return hardState.term != replica.writtenHardState.term || hardState.vote != replica.writtenHardState.vote
    }

    /// The state write a shard's next write carries, if its state changed since the last one:
    /// the changed keys and the applied position, or, after a snapshot replaced the state, the
    /// next step of replacing the stored one. Nothing is taken from a write that may be dropped
    /// (a snapshot's record), only from round writes, which are written again until they are
    /// durable: a change taken and lost would leave the stored state short of what its applied
    /// position says.
    ///
    /// A replacement of up to `stateReplacementWholeBytesMax` is one write; a larger one takes
    /// `begin`, then rows of about `stateReplacementChunkBytes` a write, then `finish`, one step
    /// per write of the shard. Keys changed meanwhile are written after the `finish`.
    func takeStateWrite(_ replica: ShardReplica) -> ReplicaStateWrite? {
        replica.stateWrittenAtMilliseconds = context.nowMilliseconds
        let applied = AppliedPosition(index: replica.appliedThrough, term: replica.appliedTerm)
        if replica.stateReplacementPending {
            replica.stateReplacementPending = false
            replica.stateMachine.discardChanges()
            let rows = replica.stateMachine.storedKeyValues
            if replica.stateMachine.dataBytes <= Self.stateReplacementWholeBytesMax {
                replica.stateReplacement = nil
                replica.writtenAppliedIndex = applied.index
                return ReplicaStateWrite(replacement: .whole(rows), applied: applied)
            }
            replica.stateReplacement = (rows, 0, applied, false)
        }
        if var replacement = replica.stateReplacement {
            if !replacement.begun {
                replacement.begun = true
                replica.stateReplacement = replacement
                return ReplicaStateWrite(replacement: .begin, applied: nil)
            }
            if replacement.written < replacement.rows.count {
                var end = replacement.written
                var bytes = 0
                while end < replacement.rows.count && (end == replacement.written || bytes < Self.stateReplacementChunkBytes) {
                    bytes += replacement.rows[end].sizeBytes
                    end += 1
                }
                let chunk = Array(replacement.rows[replacement.written..<end])
                replacement.written = end
                replica.stateReplacement = replacement
                return ReplicaStateWrite(replacement: .rows(chunk), applied: nil)
            }
            replica.stateReplacement = nil
            replica.writtenAppliedIndex = replacement.applied.index
            return ReplicaStateWrite(replacement: .finish(rowCount: UInt64(replacement.rows.count)), applied: replacement.applied)
        }
        guard !replica.stateMachine.changedKeys.isEmpty || applied.index > replica.writtenAppliedIndex else { return nil }
        replica.writtenAppliedIndex = applied.index
        return ReplicaStateWrite(changes: replica.stateMachine.takeChanges(), applied: applied)
    }

    /// Whether a shard's changed state goes in its next write: at most every
    /// `stateWriteIntervalMilliseconds`, unless many keys changed or the state was replaced.
    ///
    /// Why not in every round: the stored state is a B-tree of the shard's keys in hash order,
    /// so a write touches a page per changed key, where the log's entries fill pages in order,
    /// and LMDB copies every page a transaction touches. Written every round (or every 100 ms)
    /// under pipelined puts on one host it cost about 40% of the put rate here; every second,
    /// 10-20% more CPU per put, and a key written many times in a second is written once. The
    /// log holds everything since the last state write, so a restart applies at most about a
    /// second of entries again (etcd commits its backend every 100 ms for the same reason).
    func isStateWriteDue(_ replica: ShardReplica) -> Bool {
        guard replica.hasUnwrittenState else { return false }
        return replica.stateReplacementPending || replica.stateReplacement != nil
            || replica.stateMachine.changedKeys.count >= Self.stateChangesPerWriteMax
            || replica.stateMachine.changedBytes >= Self.stateChangeBytesPerWriteMax
            || context.nowMilliseconds >= replica.stateWrittenAtMilliseconds + Self.stateWriteIntervalMilliseconds
    }

    /// The largest state replaced in one write, and the rows of a larger one per write.
    static let stateReplacementWholeBytesMax = 4 << 20
    static let stateReplacementChunkBytes = 4 << 20
    /// Changed keys a shard may hold before they get a write at once.
    static let stateChangesPerWriteMax = 65_536
    static let stateChangeBytesPerWriteMax = 32 << 20
    /// The state bytes one write takes from all its shards together; the shards left over go
    /// in the next round's write (the store refuses a batch over `batchBytesMax`, 512 MB, and
    /// that would stop the host).
    static let stateBytesPerWriteMax = 64 << 20
    static let stateWriteIntervalMilliseconds: UInt64 = 1_000

    /// Hands a round's write to the store; its outcome comes back as a `persisted` item.
    private func submit(_ write: UInt64, _ updates: [ReplicaLogUpdate]) {
        persist(updates) { failure in .persisted(write, failure: failure) }
    }

    /// Writes through the store in this worker's order; `outcome` makes the item that reports
    /// it (nil: durable; `failStopMarker`: the store failed for good).
    private func persist(_ updates: [ReplicaLogUpdate], outcome: @escaping @Sendable (String?) -> WorkItem) {
        let queue = self.queue
        let context = self.context
        context.store.persist(updates, from: id) { result in
            var failure: String?
            if case .failure(let error) = result {
                if let fatal = error as? HostStoreFailure {
                    // Stop at once, from the writer's thread: the worker must not retry.
                    context.failStop(fatal.description)
                    queue.push(outcome(Self.failStopMarker), force: true)
                    return
                }
                failure = "\(error)"
            }
            queue.push(outcome(failure), force: true)
        }
    }

    /// A round's write is durable: its votes and acknowledgements may leave, and the core may
    /// count it. A refused write (a full disk or map) stays in flight and is written again
    /// later (see `StoreRefusal`): nothing may be acknowledged before it is durable, and
    /// nothing is dropped.
    private func persisted(_ write: UInt64, failure: String?) {
        guard let shards = inflightWrites[write] else { return }
        if failure == Self.failStopMarker {
            enterFailStop()
            return
        }
        if let failure {
            writeRefused(write, reason: failure)
            return
        }
        if let refusal = storeRefusal, refusal.resubmittedWrite != write, refusal.isWaiting(before: write) {
            // The store promised each worker's writes in order: a later one durable before an
            // earlier refused one would leave a hole in a log. Stop rather than build on it.
            context.failStop("the log store made write \(write) durable before the refused write \(refusal.waitingWrites[0])")
            enterFailStop()
            return
        }
        inflightWrites[write] = nil
        for shard in shards {
            let replica = shard.replica
            replica.writesInFlight -= 1
            replica.log.applied(shard.update)
            if let ready = shard.ready {
                send(ready.messagesAfterPersist, from: replica)
                if shard.handedOff {
                    replica.node.persisted(ready)
                } else {
                    finish(ready, on: replica, membershipChanged: shard.membershipChanged, advance: true)
                }
            }
            if replica.writesInFlight == 0 && !replica.heldMessages.isEmpty {
                send(replica.heldMessages, from: replica)
                replica.heldMessages = []
            }
            if replica.writesInFlight == 0, let update = replica.snapshotAwaitingRecord {
                replica.snapshotAwaitingRecord = nil
                recordSnapshot(replica, update)
            }
            touched.insert(replica.shard)
        }
        if storeRefusal?.resubmittedWrite == write {
            storeRefusal?.resubmittedWrite = nil
            storeRefusal?.hasWritten = true
            resubmitNextRefusedWrite()
        }
    }

    /// The store refused a write (or a snapshot's record, `write` nil) for a reason that
    /// passes. The first refusal is logged; the write waits to be resubmitted.
    private func writeRefused(_ write: UInt64?, reason: String) {
        let now = context.nowMilliseconds
        if storeRefusal == nil {
            var refusal = StoreRefusal(reason: reason, now: now)
            if let previous = previousRefusal, now - previous.endedMilliseconds < Self.refusalQuietMilliseconds {
                refusal.retryDelayMilliseconds = previous.retryDelayMilliseconds
                refusal.retryAtMilliseconds = now + previous.retryDelayMilliseconds
            } else {
                context.events(HostEvent(.error, "the log store refuses writes: \(reason); proposals are refused with BUSY, reads go on, and the refused writes are retried until they are written"))
            }
            storeRefusal = refusal
        }
        if let write { storeRefusal?.refusedAgain(write, reason: reason, now: now) }
        if stopping { abandonRefusedWrites() }
    }

    /// A refusal that ends this soon after the previous one is not logged again.
    static let refusalQuietMilliseconds: UInt64 = 10_000

    /// On a tick, once every write this worker submitted has answered and the retry is due:
    /// the store takes the worker's writes again and the oldest refused one goes first.
    private func retryRefusedWrites(now: UInt64) {
        guard let refusal = storeRefusal, refusal.resubmittedWrite == nil, now >= refusal.retryAtMilliseconds,
              inflightWrites.count == refusal.waitingWrites.count, snapshotRecordsInFlight == 0 else { return }
        context.store.resumeWrites(from: id)
        resubmitNextRefusedWrite()
    }

    /// Resubmits the oldest refused write, one at a time so that they are durable in order;
    /// when none is left, the refusal is over.
    private func resubmitNextRefusedWrite() {
        guard var refusal = storeRefusal else { return }
        if refusal.isDrained {
            storeRefusal = nil
            if refusal.hasWritten {
                previousRefusal = nil
                context.events(HostEvent(.notice, "the log store takes writes again"))
            } else {
                // Nothing was waiting (only a snapshot's record was refused): whether there is
                // room is still unknown, so the next refusal carries on from this one.
                previousRefusal = (context.nowMilliseconds, min(StoreRefusal.retryDelayMillisecondsMax, refusal.retryDelayMilliseconds * 2))
            }
            return
        }
        guard let write = refusal.takeNext() else { return }
        storeRefusal = refusal
        guard let shards = inflightWrites[write] else { return resubmitNextRefusedWrite() }
        submit(write, shards.map(\.update))
    }

    /// Stopping: the refused writes were never durable and will not be; their requests fail
    /// when the replicas do (a proposal with `TIMEOUT`: a quorum may still commit it).
    private func abandonRefusedWrites() {
        guard storeRefusal != nil else { return }
        for write in storeRefusal?.abandon() ?? [] { inflightWrites[write] = nil }
    }

    /// Messages that would make this replica write entries or a snapshot: ignored while the
    /// store refuses writes (the leader sends them again once this replica answers).
    static func growsTheLog(_ message: Message) -> Bool {
        switch message.kind {
        case .append(let append): return !append.entries.isEmpty
        case .installSnapshot: return true
        default: return false
        }
    }

    static let failStopMarker = "fail-stop"

    /// After a `HostStoreFailure`: every waiting request fails (a waiting proposal with
    /// `timeout`), and from now on nothing is stepped, written or sent.
    private func enterFailStop() {
        guard !failedStop else { return }
        failedStop = true
        inflightWrites = [:]
        storeRefusal = nil
        for replica in replicas.values { replica.failAll(.failed("the log store failed; the host is stopping")) }
    }

    private func send(_ messages: [Message], from replica: ShardReplica) {
        guard !messages.isEmpty else { return }
        var plain: [ShardMessage] = []
        plain.reserveCapacity(messages.count)
        for message in messages {
            if case .installSnapshot = message.kind {
                sendSnapshot(ShardMessage(shard: replica.shard, message: message), from: replica)
            } else {
                plain.append(ShardMessage(shard: replica.shard, message: message))
            }
        }
        if !plain.isEmpty { context.transport.send(plain) }
    }

    private func sendSnapshot(_ message: ShardMessage, from replica: ShardReplica) {
        guard let file = replica.log.snapshotFile else {
            replica.node.reportSnapshot(to: message.message.to, succeeded: false)
            return
        }
        let queue = self.queue
        let shard = replica.shard
        let peer = message.message.to
        context.events(HostEvent(.info, "sending snapshot \(replica.log.snapshot.index)", shard: shard, term: replica.node.term, peer: peer))
        context.transport.sendSnapshot(message, file: file) { succeeded in
            queue.push(.snapshotSent(shard, peer, succeeded: succeeded), force: true)
        }
    }

    /// Applies committed entries and answers the requests waiting on them; returns whether the
    /// membership changed.
    private func applyEntries(_ ready: Ready, to replica: ShardReplica) -> Bool {
        var membershipChanged = false
        for entry in ready.committedEntries {
            var result = KeyValueResult.ok
            switch entry.payload {
            case .command(let bytes):
                do {
                    let decoded = try KeyValueEntry(decoding: bytes)
                    result = replica.stateMachine.apply(decoded.command, at: decoded.timeMilliseconds)
                } catch {
                    // Skipping a committed entry would make this replica differ from the others
                    // for good: stop instead (a newer version wrote it, or the log is damaged).
                    let reason = "shard \(replica.shard): the committed entry at \(entry.index) cannot be applied (\(error)); "
                        + "it was written by a newer version of Flotilla or the log is damaged: run one version across the cluster"
                    context.failStop(reason)
                    enterFailStop()
                    return membershipChanged
                }
            case .membershipChange(let change):
                membershipChanged = true
                // Replaying the log at start applies every change again: those lines would say
                // nothing new (the host logs one summary line for its replicas instead).
                let level: HostEvent.Level = entry.index <= replica.replayedThrough ? .debug : .info
                context.events(HostEvent(level, "applied \(change) at \(entry.index)", shard: replica.shard, term: entry.term))
            case .empty:
                break
            }
            replica.appliedThrough = entry.index
            replica.appliedTerm = entry.term
            if let sweep = replica.sweep, sweep.position.index == entry.index {
                // Another leader's entry took the sweep's place: its keys are still due.
                if sweep.position.term != entry.term { replica.stateMachine.requeue(sweep.keys) }
                replica.sweep = nil
            }
            if let pending = replica.pendingProposals.removeValue(forKey: entry.index) {
                if pending.term == entry.term {
                    pending.continuation.resume(returning: pending.isMembershipChange ? .done : .applied(result))
                } else {
                    // Another leader's entry took the slot: ours was never committed.
                    pending.continuation.resume(returning: .failure(.noLeader))
                }
            }
        }
        if replica.stateMachine.changedKeys.count >= Self.stateChangesPerWriteMax
            || replica.stateMachine.changedBytes >= Self.stateChangeBytesPerWriteMax {
            stateFlushDue.insert(replica.shard)
        }
        replica.confirm(ready.readStates)
        for request in ready.failedReads {
            replica.pendingReads.removeValue(forKey: request)?.continuation.resume(returning: .failure(.noLeader))
        }
        serveReads(replica)
        return membershipChanged
    }

    /// After applying (and, for a snapshot install, after the write that records it): installs
    /// a received snapshot, advances the core (unless the `Ready` was handed off), and does the
    /// bookkeeping that needs the new applied index.
    private func finish(_ ready: Ready, on replica: ShardReplica, membershipChanged: Bool, advance: Bool) {
        if let metadata = ready.snapshot, let received = replica.receivedSnapshots[metadata.index] {
            replica.stateMachine = received.stateMachine
            replica.stateReplacementPending = true
            replica.stateReplacement = nil
            stateFlushDue.insert(replica.shard)
            replica.lastSnapshotIndex = metadata.index
            for (index, _) in replica.receivedSnapshots where index <= metadata.index && index != metadata.index {
                unlink(replica.receivedSnapshots[index]!.file)
            }
            replica.receivedSnapshots = replica.receivedSnapshots.filter { $0.key > metadata.index }
            for (index, pending) in replica.pendingProposals where index <= metadata.index {
                replica.pendingProposals[index] = nil
                pending.continuation.resume(returning: .failure(.timeout))
            }
            replica.appliedThrough = metadata.index
            replica.appliedTerm = metadata.term
            HostCounters.increment(context.counters.snapshotsInstalled)
            context.events(HostEvent(.info, "installed snapshot \(metadata.index) (\(replica.stateMachine.count) keys)",
                                     shard: replica.shard, term: metadata.term))
        }
        if ready.snapshot != nil {
            replica.confirm(ready.readStates)
            for request in ready.failedReads {
                replica.pendingReads.removeValue(forKey: request)?.continuation.resume(returning: .failure(.noLeader))
            }
        }
        if let change = ready.roleChange {
            if change.role != .leader && !replica.pendingReads.isEmpty {
                // A read this replica asked a leader to confirm is never answered when that
                // leader is gone: fail it with a retryable error, and the caller asks again
                // (the new leader, once known). A late answer from the old leader finds
                // nothing waiting.
                for pending in replica.pendingReads.values { pending.continuation.resume(returning: .failure(.noLeader)) }
                replica.pendingReads = [:]
                replica.confirmedReads = []
            }
            announce(change, on: replica)
        }
        if advance { replica.node.advance(ready) }
        if ready.roleChange != nil || membershipChanged || ready.snapshot != nil { publish(replica) }
        if replica.node.role == .removed { replica.failAll(.unknownShard(replica.shard)) }
        serveReads(replica)
        resolveTransfers(replica)
        maybeSnapshot(replica)
    }

    /// One event per change of role that an operator cares about: an election started, won,
    /// leadership lost, a replica removed. Learning of a new leader is debug (every follower of
    /// every shard would log it at each election).
    private func announce(_ change: Ready.RoleChange, on replica: ShardReplica) {
        let previous = replica.announcedRole
        replica.announcedRole = change.role
        let shard = replica.shard
        switch change.role {
        case .leader:
            HostCounters.increment(context.counters.leadershipsWon)
            context.events(HostEvent(.info, "won the election: leader", shard: shard, term: change.term))
        case .candidate:
            HostCounters.increment(context.counters.electionsStarted)
            context.events(HostEvent(previous == .leader ? .info : .debug,
                                     previous == .leader ? "lost leadership; started an election" : "started an election",
                                     shard: shard, term: change.term))
        case .removed:
            context.events(HostEvent(.notice, "this replica was removed from the shard", shard: shard, term: change.term))
        case .follower, .observer, .preCandidate:
            if previous == .leader {
                context.events(HostEvent(.info, "lost leadership" + (change.leader == .none ? "" : " to \(change.leader)"),
                                         shard: shard, term: change.term, peer: change.leader == .none ? nil : change.leader))
            } else if change.leader != .none {
                context.events(HostEvent(.debug, "following leader \(change.leader)", shard: shard, term: change.term, peer: change.leader))
            }
        }
    }

    /// Starts the automatic snapshot when due and none is being written.
    private func maybeSnapshot(_ replica: ShardReplica) {
        // A snapshot's record is a write too: none is started while the store refuses them.
        guard storeRefusal == nil, replica.snapshotInFlight == nil,
              replica.node.appliedIndex.rawValue >= replica.lastSnapshotIndex.rawValue + configuration.snapshotEveryEntries else { return }
        startSnapshot(replica, waiter: nil)
    }

    /// A leader deletes the keys past their expiry through the log (a `sweep` entry stamped
    /// with its clock), so every replica deletes the same keys at the same index. Reads hide
    /// an expired key before then. One sweep per shard is in flight at a time; one that is
    /// lost (leadership gone, no commit in time) hands its keys back for the next.
    private func sweepExpiredKeys(_ replica: ShardReplica, now: UInt64) {
        if let sweep = replica.sweep {
            guard replica.node.role != .leader || sweep.deadline <= now else { return }
            replica.stateMachine.requeue(sweep.keys)
            replica.sweep = nil
        }
        guard replica.node.role == .leader, let next = replica.stateMachine.nextExpiryMilliseconds else { return }
        let wallClock = configuration.wallClockMilliseconds()
        guard next <= wallClock else { return }
        let keys = replica.stateMachine.takeDueExpiries(at: wallClock, limit: configuration.sweepKeysMax)
        guard !keys.isEmpty else { return }
        let entry = KeyValueEntry(timeMilliseconds: wallClock, command: .sweep(keys: keys))
        do {
            let position = try replica.node.propose(entry.encoded())
            replica.sweep = (position, keys, context.deadline())
            replica.noteActivity()
            touched.insert(replica.shard)
        } catch {
            replica.stateMachine.requeue(keys)
        }
    }

    private func serveReads(_ replica: ShardReplica) {
        guard !replica.confirmedReads.isEmpty else { return }
        let applied = max(replica.node.appliedIndex, replica.appliedThrough)
        let now = configuration.wallClockMilliseconds()
        var waiting: [ReadState] = []
        for state in replica.confirmedReads {
            guard state.index <= applied else {
                waiting.append(state)
                continue
            }
            for request in state.requests {
                guard let pending = replica.pendingReads.removeValue(forKey: request) else { continue }
                pending.continuation.resume(returning: .answer(replica.stateMachine.answer(pending.query, at: now)))
            }
        }
        replica.confirmedReads = waiting
    }

    private func resolveTransfers(_ replica: ShardReplica) {
        guard !replica.pendingTransfers.isEmpty else { return }
        let leader = replica.node.leader
        let done = replica.pendingTransfers.filter { $0.target == leader }
        replica.pendingTransfers.removeAll { $0.target == leader }
        for pending in done { pending.continuation.resume(returning: .done) }
    }

    // MARK: - Snapshots

    func snapshotPath(_ shard: ShardID, _ metadata: SnapshotMetadata) -> String {
        "\(context.snapshotDirectory)/shard-\(shard)/snapshot-\(metadata.index)-\(metadata.term).flsnap"
    }

    private func ensureDirectory(for shard: ShardID) {
        try? FileManager.default.createDirectory(atPath: "\(context.snapshotDirectory)/shard-\(shard)", withIntermediateDirectories: true)
    }

    func snapshotHeader(_ shard: ShardID, _ metadata: SnapshotMetadata) -> SnapshotFile.Header {
        .init(clusterID: context.clusterIdentity.load(ordering: .acquiring), shard: shard,
              shardCount: context.shardCount.load(ordering: .acquiring), metadata: metadata)
    }

    /// Snapshots the state machine at the applied index, in three steps that each leave the
    /// worker free: the file is written and synced on the snapshot thread (from a copy-on-write
    /// copy of the state machine); the record of it, with the compaction of the log behind it
    /// (keeping `compactionKeepEntries`), is then written like any other round's write, after
    /// every write already submitted for the shard, so the compaction finds the entries it
    /// removes in the store; once that is durable the snapshot is current. `waiter` (an
    /// administrative `SNAPSHOT`) is answered then; a snapshot already in progress answers it.
    private func startSnapshot(_ replica: ShardReplica, waiter: HostContinuation?) {
        let metadata = replica.node.snapshotMetadataAtApplied
        if let waiter { replica.snapshotWaiters.append((metadata.index, waiter)) }
        guard replica.snapshotInFlight == nil else { return }
        guard metadata.index > replica.log.snapshot.index else {
            answerSnapshotWaiters(replica, .index(replica.log.snapshot.index))
            return
        }
        ensureDirectory(for: replica.shard)
        let file = snapshotPath(replica.shard, metadata)
        let header = snapshotHeader(replica.shard, metadata)
        let stateMachine = replica.stateMachine
        let queue = self.queue
        let shard = replica.shard
        let submitted = context.snapshotWriter.submit {
            var failure: String?
            do {
                try SnapshotFile.write(header, stateMachine: stateMachine, to: file)
            } catch {
                failure = "\(error)"
            }
            if !queue.push(.snapshotWritten(shard, metadata, file: file, failure: failure), force: true), failure == nil {
                unlink(file)
            }
        }
        guard submitted else {
            answerSnapshotWaiters(replica, .failure(.busy("too many snapshots waiting to be written")))
            return
        }
        replica.snapshotInFlight = metadata.index
        replica.lastSnapshotIndex = metadata.index
    }

    /// The file of a snapshot is durable: record it (and compact) through the store.
    private func snapshotWritten(_ shard: ShardID, _ metadata: SnapshotMetadata, file: String, failure: String?) {
        guard let replica = replicas[shard] else {
            if failure == nil { unlink(file) }
            return
        }
        if let failure {
            snapshotFailed(replica, "snapshot failed: \(failure)")
            return
        }
        var update = ReplicaLogUpdate(shard: shard)
        update.snapshot = StoredSnapshot(metadata: metadata, file: file)
        let keep = configuration.compactionKeepEntries
        if metadata.index.rawValue > keep {
            update.compactThrough = LogIndex(metadata.index.rawValue - keep)
        }
        if replica.writesInFlight > 0 {
            replica.snapshotAwaitingRecord = update
        } else {
            recordSnapshot(replica, update)
        }
    }

    /// Submits a snapshot's record and compaction, once the shard has no write in flight; a
    /// snapshot received and installed meanwhile, or the replica's removal, discards it.
    private func recordSnapshot(_ replica: ShardReplica, _ update: ReplicaLogUpdate) {
        guard let snapshot = update.snapshot else { return }
        guard snapshot.metadata.index > replica.log.snapshot.index, replica.node.role != .removed, !stopping, !failedStop else {
            unlink(snapshot.file)
            replica.snapshotInFlight = nil
            answerSnapshotWaiters(replica, replica.node.role == .removed ? .failure(.unknownShard(replica.shard))
                                      : stopping || failedStop ? .failure(.shuttingDown) : .index(replica.log.snapshot.index))
            return
        }
        snapshotRecordsInFlight += 1
        replica.writesInFlight += 1
        persist([update]) { failure in .snapshotRecorded(update, failure: failure) }
    }

    /// The record of a snapshot is durable: it is now the replica's current snapshot.
    private func snapshotRecorded(_ update: ReplicaLogUpdate, failure: String?) {
        snapshotRecordsInFlight -= 1
        if failure == Self.failStopMarker {
            enterFailStop()
            return
        }
        guard let replica = replicas[update.shard], let snapshot = update.snapshot else { return }
        replica.writesInFlight -= 1
        if replica.writesInFlight == 0 && !replica.heldMessages.isEmpty {
            send(replica.heldMessages, from: replica)
            replica.heldMessages = []
        }
        if let failure {
            unlink(snapshot.file)
            writeRefused(nil, reason: failure)
            snapshotFailed(replica, "recording the snapshot failed: \(failure)")
            return
        }
        replica.snapshotInFlight = nil
        let previousFile = replica.log.snapshotFile
        if snapshot.metadata.index > replica.log.snapshot.index {
            replica.log.applied(update)
            if let previousFile, previousFile != snapshot.file { unlink(previousFile) }
        }
        let recorded = max(snapshot.metadata.index, replica.log.snapshot.index)
        answerSnapshotWaiters(replica, .index(recorded), through: recorded)
        // Requests that came after this snapshot began want a newer one.
        if !replica.snapshotWaiters.isEmpty {
            if stopping || failedStop {
                answerSnapshotWaiters(replica, .failure(.shuttingDown))
            } else {
                startSnapshot(replica, waiter: nil)
            }
        }
        touched.insert(replica.shard)
    }

    /// A snapshot that could not be written or recorded: waiters hear why, and the next one is
    /// due again at once.
    private func snapshotFailed(_ replica: ShardReplica, _ reason: String) {
        replica.snapshotInFlight = nil
        replica.lastSnapshotIndex = replica.log.snapshot.index
        context.events(HostEvent(.error, reason, shard: replica.shard))
        answerSnapshotWaiters(replica, .failure(.failed(reason)))
    }

    /// Answers the waiters (those content with a snapshot at `index` or older, when given).
    private func answerSnapshotWaiters(_ replica: ShardReplica, _ response: HostResponse, through index: LogIndex? = nil) {
        let answered = replica.snapshotWaiters.filter { index == nil || $0.minimum <= index! }
        replica.snapshotWaiters.removeAll { index == nil || $0.minimum <= index! }
        for waiter in answered { waiter.continuation.resume(returning: response) }
    }
}
