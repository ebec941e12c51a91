import FlotillaRaft

/// Runs the real Raft core for one seed: 3 or 5 voters (and observers) over a network that
/// drops, duplicates, delays and reorders messages, partitions (both ways or one way), mutes a
/// replica (it hears but cannot send) and heals; replicas crash and lose whatever they had not
/// persisted, and a storage write may fail (the replica fail-stops before acknowledging it);
/// under a workload of writes, linearizable reads and membership changes (add observer,
/// promote, remove), with the leader often crashing while a change is in flight. After every
/// step it checks the safety invariants; at the end it checks that reads were linearizable and
/// that the cluster made progress once faults stopped: with everything restarted and healed,
/// or in liveness mode with only a core (see `LivenessCore`) up and the rest gone for good.
public final class Simulator {
    final class SimulatedReplica {
        let id: ReplicaID
        let storage: MemoryRaftLog
        let configuration: RaftConfiguration
        var node: RaftNode?
        var pendingReady: Ready?
        /// The key-value state machine: value and the index of the write that set it.
        var store: [String: StoredValue] = [:]
        var appliedIndex: LogIndex = .zero
        var lastSnapshotIndex: LogIndex = .zero
        var pendingWrites: [LogIndex: PendingWrite] = [:]
        var pendingReads: [ReadRequestID: PendingRead] = [:]
        var confirmedReads: [(index: LogIndex, requests: [ReadRequestID])] = []
        var commitSeen: LogIndex = .zero

        init(id: ReplicaID, storage: MemoryRaftLog, configuration: RaftConfiguration) {
            self.id = id
            self.storage = storage
            self.configuration = configuration
        }
    }

    struct StoredValue: Equatable {
        var value: String
        var index: LogIndex
    }

    struct PendingWrite {
        var record: Int
        var term: Term
    }

    struct PendingRead {
        var key: String
        var invokedStep: Int
    }

    struct WriteRecord {
        var key: String
        var value: String
        var invokedStep: Int
        var acknowledgedStep: Int?
        var index: LogIndex
    }

    struct ReadRecord {
        var key: String
        var invokedStep: Int
        var completedStep: Int
        /// The log index of the write whose value the read returned; zero when it found nothing.
        var observedIndex: LogIndex
    }

    struct InFlight {
        var message: Message
        var deliverAtStep: Int
        var sequence: Int
    }

    struct EntryKey: Hashable {
        var index: LogIndex
        var term: Term
    }

    /// One direction of the link between two replicas: faults block directions, not pairs.
    struct DirectedLink: Hashable {
        var from: ReplicaID
        var to: ReplicaID
    }

    public let options: SimulationOptions
    var random: SeededRandomSource
    var replicas: [ReplicaID: SimulatedReplica] = [:]
    var network: [InFlight] = []
    var messageSequence = 0
    var blockedLinks: Set<DirectedLink> = []
    var step = 0
    var faultsActive = true
    /// Crashes due at a step: a leader that just proposed a membership change.
    var scheduledCrashes: [ReplicaID: Int] = [:]
    /// Liveness mode, once the faults end: the core, and the replicas outside it, which stay
    /// down or cut off from the core (they still reach one another) for the rest of the run.
    var core: LivenessCore?
    var cutOffForGood: Set<ReplicaID> = []
    var nextReplicaID: UInt64
    var nextReadID: UInt64 = 1
    var valueCounter = 0

    // What the invariant checks remember.
    var leaderOfTerm: [Term: ReplicaID] = [:]
    var previousTermOfEntry: [EntryKey: Term] = [:]
    var payloadOfEntry: [EntryKey: EntryPayload] = [:]
    var committed: [LogIndex: Entry] = [:]
    var committedIndexMax: LogIndex = .zero
    var snapshotStates: [EntryKey: [String: StoredValue]] = [:]
    var writes: [WriteRecord] = []
    var reads: [ReadRecord] = []
    var failure: SimulationFailure?
    public private(set) var report = SimulationReport()
    /// When set, notable events are passed here as they happen (the tool's `--trace`).
    public var trace: ((String) -> Void)?

    func note(_ text: @autoclosure () -> String) {
        if let trace { trace("step \(step): \(text())") }
    }

    public init(options: SimulationOptions) {
        self.options = options
        random = SeededRandomSource(seed: options.seed)
        var voters: [ReplicaID: String] = [:]
        var observers: [ReplicaID: String] = [:]
        for number in 1...options.voterCount { voters[ReplicaID(UInt64(number))] = "sim-\(number)" }
        for number in 0..<options.observerCount {
            let id = UInt64(options.voterCount + number + 1)
            observers[ReplicaID(id)] = "sim-\(id)"
        }
        nextReplicaID = UInt64(options.voterCount + options.observerCount + 1)
        let membership = Membership(voters: voters, observers: observers)
        for id in membership.members {
            addReplica(id, storage: MemoryRaftLog(bootstrap: membership))
        }
    }

    func addReplica(_ id: ReplicaID, storage: MemoryRaftLog) {
        var configuration = RaftConfiguration(replica: id)
        configuration.electionTimeoutTicks = options.electionTimeoutTicks
        configuration.randomSeed = options.seed &* 31 &+ id.rawValue
        configuration.messageBytesMax = 256
        configuration.inflightMessagesMax = 8
        configuration.promotionLagEntriesMax = 8
        let replica = SimulatedReplica(id: id, storage: storage, configuration: configuration)
        replica.node = RaftNode(configuration: configuration, storage: storage)
        replicas[id] = replica
    }

    /// Runs the whole schedule; throws the first invariant violation.
    public func run() throws -> SimulationReport {
        let total = options.faultSteps + options.recoverySteps
        while step < total {
            if step == options.faultSteps {
                beginRecovery()
            }
            if faultsActive {
                injectFaults()
            }
            generateWorkload()
            deliverDueMessages()
            processReadies()
            tickAll()
            try checkInvariants()
            if let failure { throw failure }
            step += 1
        }
        try checkLinearizableReads()
        try checkRecovered()
        report.steps = step
        report.writesAcknowledged = writes.filter { $0.acknowledgedStep != nil }.count
        report.readsCompleted = reads.count
        return report
    }

    func fail(_ invariant: String, _ detail: String) {
        if failure == nil {
            failure = SimulationFailure(seed: options.seed, step: step, invariant: invariant, detail: detail)
        }
    }

    var sortedReplicas: [SimulatedReplica] { replicas.keys.sorted().map { replicas[$0]! } }
    var liveReplicas: [SimulatedReplica] { sortedReplicas.filter { $0.node != nil } }

    // MARK: - Faults

    func injectFaults() {
        for id in scheduledCrashes.keys.sorted() where scheduledCrashes[id]! <= step {
            scheduledCrashes[id] = nil
            if let replica = replicas[id], replica.node != nil {
                note("scheduled crash of \(id) after its membership change")
                crash(replica)
            }
        }
        if random.chance(options.crashProbability), let victim = random.pick(liveReplicas) {
            crash(victim)
        }
        for replica in sortedReplicas where replica.node == nil {
            if random.chance(options.restartProbability) { restart(replica) }
        }
        if blockedLinks.isEmpty {
            if random.chance(options.partitionProbability) {
                partition(oneWay: false)
            } else if random.chance(options.oneWayPartitionProbability) {
                partition(oneWay: true)
            } else if random.chance(options.muteProbability), let victim = random.pick(sortedReplicas) {
                for other in replicas.keys where other != victim.id {
                    blockedLinks.insert(DirectedLink(from: victim.id, to: other))
                }
                report.mutes += 1
                note("mute \(victim.id): it receives but cannot send")
            }
        } else if random.chance(options.healProbability) {
            blockedLinks = []
            note("heal")
        }
    }

    /// Splits the replicas into two random groups. Both ways: neither group hears the other.
    /// One way: group 1 hears group 0, group 0 never hears group 1.
    func partition(oneWay: Bool) {
        var group: [ReplicaID: UInt64] = [:]
        for id in replicas.keys.sorted() { group[id] = random.below(2) }
        for from in group.keys {
            for to in group.keys where group[from] != group[to] {
                if !oneWay || group[from] == 1 {
                    blockedLinks.insert(DirectedLink(from: from, to: to))
                }
            }
        }
        if oneWay { report.oneWayPartitions += 1 } else { report.partitions += 1 }
        note("\(oneWay ? "one-way partition (1 cannot reach 0)" : "partition") \(group.keys.sorted().map { "\($0):\(group[$0]!)" })")
    }

    func crash(_ replica: SimulatedReplica) {
        note("crash \(replica.id) durable last=\(replica.storage.lastIndex) \(replica.storage.hardState)")
        replica.node = nil
        replica.pendingReady = nil
        replica.pendingWrites = [:]
        replica.pendingReads = [:]
        replica.confirmedReads = []
        report.crashes += 1
    }

    func restart(_ replica: SimulatedReplica) {
        note("restart \(replica.id)")
        let snapshot = replica.storage.snapshot
        replica.store = snapshotStates[EntryKey(index: snapshot.index, term: snapshot.term)] ?? [:]
        replica.appliedIndex = snapshot.index
        replica.lastSnapshotIndex = snapshot.index
        replica.commitSeen = .zero
        replica.node = RaftNode(configuration: replica.configuration, storage: replica.storage, appliedIndex: snapshot.index)
    }

    func beginRecovery() {
        faultsActive = false
        scheduledCrashes = [:]
        if options.livenessCore && isolateCore() { return }
        blockedLinks = []
        for replica in sortedReplicas where replica.node == nil {
            restart(replica)
        }
    }

    /// Liveness mode: keeps a core up and connected for good and cuts everything else off,
    /// or returns false (falling back to restarting everything) when no core exists, i.e.
    /// when some configuration that could be in effect has lost its majority for good.
    func isolateCore() -> Bool {
        // Writes in progress complete now, as if the disk finished just before faults ended:
        // then every replica's log is in its storage.
        for replica in liveReplicas where replica.pendingReady != nil {
            finishReady(replica)
        }
        let data = sortedReplicas.map { replica in
            let commit = max(replica.storage.hardState.commit, replica.node?.commitIndex ?? .zero)
            return LivenessCore.configurations(of: replica.id, storage: replica.storage, commit: commit, node: replica.node)
        }
        let chosen = LivenessCore.choose(from: data, existing: Set(replicas.keys), random: &random)
        note("liveness core \(chosen.replicas) for configurations \(chosen.configurations.map { "\($0) at \($0.configurationIndex)" })")
        guard !chosen.replicas.isEmpty else {
            report.livenessFallbacks += 1
            return false
        }
        core = chosen
        report.livenessRuns += 1
        let members = Set(chosen.replicas)
        for replica in sortedReplicas where !members.contains(replica.id) {
            if replica.node != nil && random.chance(0.5) { crash(replica) }
            if replica.node != nil { cutOffForGood.insert(replica.id) }
        }
        // What the others already sent may be lost too: nothing from them reaches the core.
        network.removeAll { !members.contains($0.message.from) }
        blockedLinks = []
        for replica in sortedReplicas where members.contains(replica.id) && replica.node == nil {
            restart(replica)
        }
        return true
    }

    // MARK: - Workload

    func generateWorkload() {
        let leaders = liveReplicas.filter { $0.node!.isLeader }
        if random.chance(options.writeProbability), let leader = random.pick(leaders) {
            _ = proposeWrite(at: leader)
        }
        if random.chance(options.readProbability), let reader = random.pick(liveReplicas) {
            let key = "k\(random.below(UInt64(options.keyCount)))"
            let request = ReadRequestID(nextReadID)
            nextReadID += 1
            do {
                try reader.node!.requestRead(request)
                reader.pendingReads[request] = PendingRead(key: key, invokedStep: step)
            } catch {
                // Refused reads never happened.
            }
        }
        if faultsActive, random.chance(options.membershipChangeProbability), let leader = random.pick(leaders) {
            changeMembership(at: leader)
        }
        if step == options.faultSteps - Self.endgameSteps, options.membershipChangeProbability > 0,
           random.chance(options.membershipChangeAtEndProbability), let leader = random.pick(leaders) {
            if changeMembership(at: leader) {
                // The change reaches only some replicas before the leader dies.
                for other in replicas.keys.sorted() where other != leader.id && random.chance(0.5) {
                    blockedLinks.insert(DirectedLink(from: leader.id, to: other))
                }
                scheduledCrashes[leader.id] = step + Int(random.below(UInt64(Self.endgameSteps)))
            }
        }
    }

    func proposeWrite(at leader: SimulatedReplica) -> Int? {
        let key = "k\(random.below(UInt64(options.keyCount)))"
        valueCounter += 1
        let value = "v\(valueCounter)"
        do {
            let position = try leader.node!.propose(Array("\(key)=\(value)".utf8))
            writes.append(WriteRecord(key: key, value: value, invokedStep: step, acknowledgedStep: nil, index: position.index))
            leader.pendingWrites[position.index] = PendingWrite(record: writes.count - 1, term: position.term)
            return writes.count - 1
        } catch {
            return nil
        }
    }

    /// How many steps before the faults end the last membership change may be proposed.
    static let endgameSteps = 8

    /// Proposes a random change at a leader; whether the leader accepted it.
    @discardableResult
    func changeMembership(at leader: SimulatedReplica) -> Bool {
        let membership = leader.node!.membership
        let choice = random.below(3)
        let change: MembershipChange
        if choice == 0 && membership.members.count < 7 {
            let id = ReplicaID(nextReplicaID)
            change = MembershipChange(kind: .addObserver, replica: id, address: "sim-\(id)")
        } else if choice == 1, let observer = random.pick(membership.observers) {
            change = MembershipChange(kind: .promoteObserver, replica: observer)
        } else if choice == 2 {
            var candidates = membership.observers
            if membership.voters.count > 3 { candidates += membership.voters }
            guard let victim = random.pick(candidates) else { return false }
            change = MembershipChange(kind: .remove, replica: victim)
        } else {
            return false
        }
        do {
            let position = try leader.node!.proposeMembershipChange(change)
            note("leader \(leader.id) proposed \(change) at \(position.index)/\(position.term)")
            report.membershipChanges += 1
            if random.chance(options.leaderCrashAfterMembershipChangeProbability) {
                scheduledCrashes[leader.id] = step + Int(random.below(6))
            }
            if change.kind == .addObserver {
                nextReplicaID += 1
                addReplica(change.replica, storage: MemoryRaftLog())
            }
            return true
        } catch {
            // Refusals (pending change, not caught up) are part of the workload.
            return false
        }
    }

    // MARK: - Network

    func reachable(_ from: ReplicaID, _ to: ReplicaID) -> Bool {
        if cutOffForGood.contains(from) != cutOffForGood.contains(to) { return false }
        return !blockedLinks.contains(DirectedLink(from: from, to: to))
    }

    func send(_ messages: [Message]) {
        for message in messages {
            if faultsActive && random.chance(options.messageDropProbability) {
                dropped(message)
                continue
            }
            enqueue(message)
            if faultsActive && random.chance(options.messageDuplicateProbability) {
                enqueue(message)
            }
        }
    }

    func enqueue(_ message: Message) {
        let delay = faultsActive ? Int(random.below(UInt64(options.messageDelayTicksMax + 1))) : Int(random.below(2))
        messageSequence += 1
        network.append(InFlight(message: message, deliverAtStep: step + delay, sequence: messageSequence))
    }

    func dropped(_ message: Message) {
        if case .installSnapshot = message.kind {
            replicas[message.from]?.node?.reportSnapshot(to: message.to, succeeded: false)
        }
    }

    func deliverDueMessages() {
        let due = network.filter { $0.deliverAtStep <= step }.sorted { ($0.deliverAtStep, $0.sequence) < ($1.deliverAtStep, $1.sequence) }
        network.removeAll { $0.deliverAtStep <= step }
        for item in due {
            let message = item.message
            guard let receiver = replicas[message.to], receiver.node != nil, reachable(message.from, message.to) else {
                dropped(message)
                continue
            }
            if options.unsafeLoseVoteRequestsToNonVoters, case .voteRequest = message.kind,
               !receiver.node!.latestMembership.isVoter(receiver.id) {
                continue
            }
            receiver.node!.step(message)
            if case .installSnapshot = message.kind {
                report.snapshotsSent += 1
                replicas[message.from]?.node?.reportSnapshot(to: message.to, succeeded: true)
            }
        }
    }

    // MARK: - Readies

    func processReadies() {
        for replica in liveReplicas {
            if replica.pendingReady != nil {
                finishReady(replica)
            }
            guard replica.node?.hasReady == true else { continue }
            let ready = replica.node!.ready()
            checkAppendedEntries(replica, ready)
            if let change = ready.roleChange {
                note("\(replica.id) is \(change.role) term=\(change.term) leader=\(change.leader) last=\(replica.node!.lastIndex) commit=\(replica.node!.commitIndex) latest=\(replica.node!.latestMembership)")
            }
            if let change = ready.roleChange, change.role == .leader {
                report.leaderElections += 1
                checkLeaderCompleteness(replica)
            }
            replica.pendingReady = ready
            send(ready.messages)
            if options.unsafeAcknowledgeBeforePersist {
                send(ready.messagesAfterPersist)
                replica.pendingReady!.messagesAfterPersist = []
            }
            if !(faultsActive && random.chance(options.slowPersistProbability)) {
                finishReady(replica)
            }
        }
    }

    func finishReady(_ replica: SimulatedReplica) {
        guard let ready = replica.pendingReady else { return }
        replica.pendingReady = nil
        if faultsActive && ready.needsPersistence && random.chance(options.writeFailureProbability) {
            // The write failed: fail-stop before anything it promised is acknowledged. What
            // earlier writes made durable is all the replica restarts from.
            note("write failed on \(replica.id): it stops")
            report.writeFailures += 1
            crash(replica)
            return
        }
        replica.storage.persist(ready)
        send(ready.messagesAfterPersist)
        for entry in ready.committedEntries {
            if case .membershipChange(let change) = entry.payload { note("\(replica.id) applies \(change) at \(entry.index)") }
        }
        if let metadata = ready.snapshot {
            note("\(replica.id) installs snapshot \(metadata)")
            guard let state = snapshotStates[EntryKey(index: metadata.index, term: metadata.term)] else {
                fail("snapshot availability", "replica \(replica.id) asked to install unknown snapshot \(metadata.index)/\(metadata.term)")
                return
            }
            replica.store = state
            replica.appliedIndex = metadata.index
            replica.lastSnapshotIndex = metadata.index
            report.snapshotsInstalled += 1
        }
        for entry in ready.committedEntries {
            apply(entry, at: replica)
        }
        for state in ready.readStates {
            replica.confirmedReads.append((state.index, state.requests))
        }
        for request in ready.failedReads {
            replica.pendingReads[request] = nil
        }
        replica.node!.advance(ready)
        serveConfirmedReads(replica)
        maybeTakeSnapshot(replica)
    }

    func apply(_ entry: Entry, at replica: SimulatedReplica) {
        guard entry.index > replica.appliedIndex else { return }
        if entry.index != replica.appliedIndex.next {
            fail("apply order", "replica \(replica.id) applied \(entry.index) after \(replica.appliedIndex)")
        }
        if let known = committed[entry.index] {
            if known != entry {
                fail("state machine safety", "index \(entry.index): replica \(replica.id) applied term \(entry.term) \(entry.payload), another applied term \(known.term) \(known.payload)")
            }
        } else {
            committed[entry.index] = entry
            committedIndexMax = max(committedIndexMax, entry.index)
        }
        replica.appliedIndex = entry.index
        if case .command(let bytes) = entry.payload {
            let text = String(decoding: bytes, as: UTF8.self)
            if let equals = text.firstIndex(of: "=") {
                let key = String(text[..<equals])
                let value = String(text[text.index(after: equals)...])
                replica.store[key] = StoredValue(value: value, index: entry.index)
            }
        }
        if let pending = replica.pendingWrites.removeValue(forKey: entry.index), pending.term == entry.term {
            writes[pending.record].acknowledgedStep = step
        }
    }

    func serveConfirmedReads(_ replica: SimulatedReplica) {
        var remaining: [(index: LogIndex, requests: [ReadRequestID])] = []
        for confirmed in replica.confirmedReads {
            guard confirmed.index <= replica.appliedIndex else {
                remaining.append(confirmed)
                continue
            }
            for request in confirmed.requests {
                guard let pending = replica.pendingReads.removeValue(forKey: request) else { continue }
                let observed = replica.store[pending.key]?.index ?? .zero
                reads.append(ReadRecord(key: pending.key, invokedStep: pending.invokedStep, completedStep: step, observedIndex: observed))
            }
        }
        replica.confirmedReads = remaining
    }

    func maybeTakeSnapshot(_ replica: SimulatedReplica) {
        guard let node = replica.node else { return }
        let applied = node.appliedIndex
        guard applied.rawValue >= replica.lastSnapshotIndex.rawValue + UInt64(options.snapshotEveryEntries) else { return }
        let metadata = node.snapshotMetadataAtApplied
        let key = EntryKey(index: metadata.index, term: metadata.term)
        if let existing = snapshotStates[key], existing != replica.store {
            fail("state machine safety", "snapshots at \(metadata.index)/\(metadata.term) differ between replicas")
            return
        }
        snapshotStates[key] = replica.store
        let keep = random.below(12)
        let through = metadata.index.rawValue > keep ? metadata.index.rawValue - keep : 0
        replica.storage.recordSnapshot(metadata, compactThrough: LogIndex(through))
        replica.lastSnapshotIndex = metadata.index
        report.snapshotsTaken += 1
    }

    func tickAll() {
        for replica in liveReplicas {
            replica.node!.tick()
        }
    }

    // MARK: - Invariants

    /// Log matching, checked inductively: every (index, term) pair ever appended anywhere must
    /// carry the same payload and sit after the same previous term. By induction two logs that
    /// agree on an entry agree on everything before it.
    func checkAppendedEntries(_ replica: SimulatedReplica, _ ready: Ready) {
        guard let node = replica.node else { return }
        for entry in ready.entries {
            let key = EntryKey(index: entry.index, term: entry.term)
            guard let previousTerm = node.term(at: entry.index.previous) else {
                fail("log matching", "replica \(replica.id) appended \(entry.index)/\(entry.term) without a previous entry")
                return
            }
            if let known = previousTermOfEntry[key], known != previousTerm {
                fail("log matching", "entry \(entry.index)/\(entry.term) follows term \(previousTerm) on replica \(replica.id), term \(known) elsewhere")
            }
            if let known = payloadOfEntry[key], known != entry.payload {
                fail("log matching", "entry \(entry.index)/\(entry.term) has two payloads")
            }
            previousTermOfEntry[key] = previousTerm
            payloadOfEntry[key] = entry.payload
        }
    }

    /// A new leader's log holds every entry known to be committed (paper 5.4.1).
    func checkLeaderCompleteness(_ replica: SimulatedReplica) {
        guard let node = replica.node, committedIndexMax > .zero else { return }
        if node.lastIndex < committedIndexMax {
            fail("leader completeness", "leader \(replica.id) of term \(node.term) ends at \(node.lastIndex), below committed \(committedIndexMax)")
            return
        }
        var index = committedIndexMax
        let lowest = max(node.firstIndex, LogIndex(committedIndexMax.rawValue > 200 ? committedIndexMax.rawValue - 200 : 1))
        while index >= lowest {
            if let entry = committed[index], let term = node.term(at: index), term != entry.term {
                fail("leader completeness", "leader \(replica.id) of term \(node.term) has term \(term) at committed index \(index), committed term \(entry.term)")
                return
            }
            index = index.previous
            if index == .zero { break }
        }
    }

    func checkInvariants() throws {
        for replica in liveReplicas {
            let node = replica.node!
            if node.isLeader {
                if let known = leaderOfTerm[node.term], known != replica.id {
                    fail("election safety", "replicas \(known) and \(replica.id) both lead term \(node.term)")
                }
                leaderOfTerm[node.term] = replica.id
            }
            if node.commitIndex < replica.commitSeen {
                fail("commit monotonic", "replica \(replica.id) commit went from \(replica.commitSeen) to \(node.commitIndex)")
            }
            replica.commitSeen = node.commitIndex
            if node.commitIndex > node.lastIndex {
                fail("commit within log", "replica \(replica.id) commit \(node.commitIndex) beyond last \(node.lastIndex)")
            }
        }
    }

    /// Reads were linearizable: each read saw a write at least as new as every write to its key
    /// acknowledged before the read began, and a read never saw an older write than a read that
    /// finished before it began. With one log ordering all writes, this is the whole check
    /// (linearizability is local, so keys are checked one by one).
    func checkLinearizableReads() throws {
        var newestAcknowledged: [String: [(step: Int, index: LogIndex)]] = [:]
        for write in writes {
            if let acknowledged = write.acknowledgedStep {
                newestAcknowledged[write.key, default: []].append((acknowledged, write.index))
            }
        }
        for key in newestAcknowledged.keys {
            newestAcknowledged[key]!.sort { $0.step < $1.step }
        }
        var readsByKey: [String: [ReadRecord]] = [:]
        for read in reads { readsByKey[read.key, default: []].append(read) }
        for key in readsByKey.keys.sorted() {
            let keyReads = readsByKey[key]!
            let acknowledged = newestAcknowledged[key] ?? []
            for read in keyReads {
                var required = LogIndex.zero
                for write in acknowledged where write.step < read.invokedStep {
                    required = max(required, write.index)
                }
                if read.observedIndex < required {
                    throw SimulationFailure(seed: options.seed, step: read.completedStep, invariant: "linearizable reads",
                                            detail: "read of \(key) invoked at step \(read.invokedStep) saw the write at \(read.observedIndex), but the write at \(required) was acknowledged before it began")
                }
            }
            let byCompletion = keyReads.sorted { $0.completedStep < $1.completedStep }
            for read in keyReads {
                for earlier in byCompletion {
                    if earlier.completedStep >= read.invokedStep { break }
                    if earlier.observedIndex > read.observedIndex {
                        throw SimulationFailure(seed: options.seed, step: read.completedStep, invariant: "linearizable reads",
                                                detail: "read of \(key) invoked at step \(read.invokedStep) saw \(read.observedIndex), older than \(earlier.observedIndex) seen by a read that completed at step \(earlier.completedStep)")
                    }
                }
            }
        }
    }

    /// Once faults stop, a leader is elected, a write invoked after that is acknowledged, a
    /// linearizable read invoked after that completes, and every member applies the write
    /// before the run ends. In liveness mode only the core is up and connected, so the leader
    /// must be a core replica and "every member" means every core replica still a member.
    func checkRecovered() throws {
        let invariant = core == nil ? "progress after faults" : "liveness of the core"
        let coreText = core.map { " core=\($0.replicas)" } ?? ""
        guard let recoveryWrite = writes.first(where: { $0.invokedStep >= options.faultSteps && $0.acknowledgedStep != nil }) else {
            throw SimulationFailure(seed: options.seed, step: step, invariant: invariant,
                                    detail: "no write was acknowledged in \(options.recoverySteps) calm steps;\(coreText) \(describeCluster())")
        }
        report.recoveryStepsTaken = recoveryWrite.acknowledgedStep! - options.faultSteps
        guard reads.contains(where: { $0.invokedStep >= options.faultSteps }) else {
            throw SimulationFailure(seed: options.seed, step: step, invariant: invariant,
                                    detail: "no linearizable read invoked after the faults ended completed in \(options.recoverySteps) calm steps;\(coreText) \(describeCluster())")
        }
        let candidates = liveReplicas.filter { $0.node!.isLeader && (core?.replicas.contains($0.id) ?? true) }
        guard let leader = candidates.max(by: { $0.node!.term < $1.node!.term }) else {
            throw SimulationFailure(seed: options.seed, step: step, invariant: invariant, detail: "no leader at the end;\(coreText) \(describeCluster())")
        }
        for member in leader.node!.membership.members where core?.replicas.contains(member) ?? true {
            guard let replica = replicas[member], replica.appliedIndex >= recoveryWrite.index else {
                throw SimulationFailure(seed: options.seed, step: step, invariant: invariant,
                                        detail: "member \(member) did not apply the write at \(recoveryWrite.index);\(coreText) \(describeCluster())")
            }
        }
    }

    func describeCluster() -> String {
        sortedReplicas.map { replica in
            guard let node = replica.node else { return "\(replica.id): down" }
            let cutOff = cutOffForGood.contains(replica.id) ? " (cut off)" : ""
            var text = "\(replica.id)\(cutOff): \(node.role) term=\(node.term) leader=\(node.leader) commit=\(node.commitIndex) applied=\(node.appliedIndex) last=\(node.lastIndex) first=\(node.firstIndex) \(node.membership)"
            let progress = node.followerProgress
            for peer in progress.keys.sorted() { text += " [\(peer): \(progress[peer]!)]" }
            return text
        }.joined(separator: "; ")
    }
}
