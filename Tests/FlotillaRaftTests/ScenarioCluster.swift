@testable import FlotillaRaft

/// Runs scenario commands against real `RaftNode`s over an in-memory network that the script
/// controls message by message. Storage is `MemoryRaftLog`; a crash keeps it and loses the
/// node, including any `Ready` not yet persisted.
final class ScenarioCluster {
    final class Replica {
        let id: ReplicaID
        let storage: MemoryRaftLog
        var configuration: RaftConfiguration
        var node: RaftNode?
        var pendingReady: Ready?
        /// Readies handed off (`RaftNode.handOff`) whose writes are in flight, oldest first:
        /// not durable, their `messagesAfterPersist` held until they are.
        var inflight: [Ready] = []
        /// The state machine: applied commands in order.
        var applied: [String] = []
        var appliedIndex: LogIndex = .zero

        init(id: ReplicaID, storage: MemoryRaftLog, configuration: RaftConfiguration) {
            self.id = id
            self.storage = storage
            self.configuration = configuration
        }
    }

    struct SnapshotKey: Hashable {
        var index: LogIndex
        var term: Term
    }

    var replicas: [ReplicaID: Replica] = [:]
    var network: [Message] = []
    var partitionGroup: [ReplicaID: Int] = [:]
    /// Snapshot data by (index, term): by state machine safety every replica's snapshot there
    /// holds the same commands.
    var snapshotData: [SnapshotKey: [String]] = [:]
    var output: [String] = []

    func say(_ line: String) { output.append(line) }

    // MARK: - Command dispatch

    func run(_ commandLine: String) throws -> String {
        output = []
        let words = commandLine.split(separator: " ").map(String.init)
        guard let command = words.first else { return "" }
        var positional: [String] = []
        var named: [String: String] = [:]
        for word in words.dropFirst() {
            if let equals = word.firstIndex(of: "=") {
                named[String(word[..<equals])] = String(word[word.index(after: equals)...])
            } else {
                positional.append(word)
            }
        }
        try execute(command, positional, named, words: Array(words.dropFirst()))
        return output.isEmpty ? "ok" : output.joined(separator: "\n")
    }

    func ids(_ text: String) throws -> [ReplicaID] {
        try text.split(separator: ",").map { try replicaID(String($0)) }
    }

    func replicaID(_ text: String) throws -> ReplicaID {
        guard let value = UInt64(text) else { throw ScenarioError.malformed("not a replica id: \(text)") }
        return ReplicaID(value)
    }

    func replica(_ text: String?) throws -> Replica {
        guard let text else { throw ScenarioError.malformed("missing replica id") }
        let id = try replicaID(text)
        guard let replica = replicas[id] else { throw ScenarioError.malformed("no replica \(id)") }
        return replica
    }

    func live(_ text: String?) throws -> Replica {
        let replica = try replica(text)
        guard replica.node != nil else { throw ScenarioError.malformed("replica \(replica.id) is down") }
        return replica
    }

    /// The replicas a command names (positional ids), or all of them.
    func selected(_ positional: [String]) throws -> [Replica] {
        if positional.isEmpty { return replicas.keys.sorted().map { replicas[$0]! } }
        return try positional.map { try replica($0) }
    }

    func execute(_ command: String, _ positional: [String], _ named: [String: String], words: [String]) throws {
        switch command {
        case "add-replicas":
            try addReplicas(named)
        case "add-joining":
            // A replica on a fresh host that knows no membership: it waits to be added.
            for text in positional {
                let id = try replicaID(text)
                let configuration = makeConfiguration(id, named)
                let replica = Replica(id: id, storage: MemoryRaftLog(), configuration: configuration)
                replicas[id] = replica
                replica.node = RaftNode(configuration: configuration, storage: replica.storage)
            }
            try printStatus(selected(positional))
        case "campaign":
            let replica = try live(positional.first)
            replica.node!.campaign(preVote: replica.configuration.preVote, leadershipTransfer: false)
            printStatus([replica])
        case "tick":
            let count = Int(named["count"] ?? "1") ?? 1
            let targets = try selected(positional).filter { $0.node != nil }
            for _ in 0..<count {
                for replica in targets { replica.node!.tick() }
            }
            for replica in targets { reportRoleChange(replica) }
        case "propose":
            let replica = try live(positional.first)
            let data = words.dropFirst().joined(separator: " ")
            do {
                let position = try replica.node!.propose(Array(data.utf8))
                say("\(replica.id) proposed at \(position.index)/\(position.term)")
            } catch {
                say("\(replica.id) refused: \(error)")
            }
        case "propose-change":
            let replica = try live(positional.first)
            guard positional.count >= 3, let kind = changeKinds[positional[1]] else {
                throw ScenarioError.malformed("propose-change <replica> add-observer|promote|add-voter|remove <id>")
            }
            let change = MembershipChange(kind: kind, replica: try replicaID(positional[2]), address: "host-\(positional[2])")
            do {
                let position = try replica.node!.proposeMembershipChange(change)
                say("\(replica.id) proposed \(change) at \(position.index)/\(position.term)")
            } catch {
                say("\(replica.id) refused: \(error)")
            }
        case "transfer":
            let replica = try live(positional.first)
            let target = try replicaID(positional.count > 1 ? positional[1] : "0")
            do {
                try replica.node!.transferLeadership(to: target)
                say("\(replica.id) transferring to \(target)")
            } catch {
                say("\(replica.id) refused: \(error)")
            }
        case "read":
            let replica = try live(positional.first)
            let request = ReadRequestID(UInt64(positional.count > 1 ? positional[1] : "0") ?? 0)
            do {
                try replica.node!.requestRead(request)
                say("\(replica.id) read \(request) requested")
            } catch {
                say("\(replica.id) read \(request) refused: \(error)")
            }
        case "ready":
            // Take a Ready and send only what may leave before persistence; hold the rest.
            for replica in try selected(positional) where replica.node != nil && replica.pendingReady == nil {
                takeReady(replica)
            }
        case "process":
            // Take a Ready and persist it at once, for each named replica; deliver nothing.
            for replica in try selected(positional) where replica.node != nil {
                if replica.pendingReady != nil { finishReady(replica) }
                takeReady(replica)
                finishReady(replica)
            }
        case "persist":
            for replica in try selected(positional) where replica.pendingReady != nil {
                finishReady(replica)
            }
        case "hand-off":
            // The pending Ready's write is submitted but not durable: its committed entries are
            // applied and the next Ready may be taken; its acknowledgements wait with it.
            for replica in try selected(positional) where replica.pendingReady != nil {
                handOff(replica)
            }
        case "complete-write":
            // The oldest write in flight is durable now: its held messages leave.
            for replica in try selected(positional) where !replica.inflight.isEmpty {
                completeWrite(replica)
            }
        case "deliver":
            let from = try named["from"].map(replicaID)
            let to = try named["to"].map(replicaID)
            let drop = named["drop"] == "true"
            deliver(from: from, to: to, drop: drop)
        case "stabilize":
            stabilize(limit: Int(named["rounds"] ?? "1000") ?? 1000)
        case "partition":
            partitionGroup = [:]
            var group = 0
            for word in words {
                if word == "/" { group += 1; continue }
                partitionGroup[try replicaID(word)] = group
            }
            say("partitioned")
        case "heal":
            partitionGroup = [:]
            say("healed")
        case "crash":
            for replica in try selected(positional) {
                replica.node = nil
                replica.pendingReady = nil
                replica.inflight = []
                say("\(replica.id) crashed (durable: last=\(replica.storage.lastIndex) \(replica.storage.hardState))")
            }
        case "restart":
            for replica in try selected(positional) {
                restart(replica)
            }
            try printStatus(selected(positional))
        case "snapshot":
            let replica = try live(positional.first)
            let keep = UInt64(named["keep"] ?? "0") ?? 0
            takeSnapshot(replica, keep: keep)
        case "compact":
            let replica = try replica(positional.first)
            guard positional.count > 1, let index = UInt64(positional[1]) else { throw ScenarioError.malformed("compact <replica> <index>") }
            replica.storage.compact(through: LogIndex(index))
            say("\(replica.id) log now \(replica.storage.firstIndex)...\(replica.storage.lastIndex)")
        case "status":
            try printStatus(selected(positional))
        case "log":
            for replica in try selected(positional) { printLog(replica) }
        case "progress":
            let replica = try live(positional.first)
            printProgress(replica)
        case "applied":
            for replica in try selected(positional) {
                say("\(replica.id): applied=\(replica.appliedIndex) [\(replica.applied.joined(separator: " "))]")
            }
        case "network":
            if network.isEmpty { say("empty") }
            for message in network { say(describe(message)) }
        default:
            throw ScenarioError.malformed("unknown command \(command)")
        }
    }

    let changeKinds: [String: MembershipChange.Kind] = [
        "add-observer": .addObserver, "promote": .promoteObserver, "add-voter": .addVoter, "remove": .remove,
    ]

    func makeConfiguration(_ id: ReplicaID, _ named: [String: String]) -> RaftConfiguration {
        var configuration = RaftConfiguration(replica: id)
        configuration.electionTimeoutTicks = Int(named["election"] ?? "10") ?? 10
        configuration.heartbeatIntervalTicks = Int(named["heartbeat"] ?? "1") ?? 1
        configuration.preVote = named["prevote"] != "false"
        configuration.checkQuorum = named["checkquorum"] != "false"
        if let value = named["message-bytes"], let bytes = Int(value) { configuration.messageBytesMax = bytes }
        if let value = named["inflight"], let count = Int(value) { configuration.inflightMessagesMax = count }
        if let value = named["lag"], let lag = UInt64(value) { configuration.promotionLagEntriesMax = lag }
        return configuration
    }

    func addReplicas(_ named: [String: String]) throws {
        let voters = try ids(named["voters"] ?? "")
        let observers = try ids(named["observers"] ?? "")
        var voterAddresses: [ReplicaID: String] = [:]
        for voter in voters { voterAddresses[voter] = "host-\(voter)" }
        var observerAddresses: [ReplicaID: String] = [:]
        for observer in observers { observerAddresses[observer] = "host-\(observer)" }
        let membership = Membership(voters: voterAddresses, observers: observerAddresses)
        for id in voters + observers {
            let configuration = makeConfiguration(id, named)
            let replica = Replica(id: id, storage: MemoryRaftLog(bootstrap: membership), configuration: configuration)
            replicas[id] = replica
            replica.node = RaftNode(configuration: configuration, storage: replica.storage)
        }
        try printStatus(selected((voters + observers).map(\.description)))
    }

    // MARK: - Driving readies and the network

    func takeReady(_ replica: Replica) {
        guard var node = replica.node, node.hasReady else { return }
        let ready = node.ready()
        replica.node = node
        replica.pendingReady = ready
        reportReady(replica, ready)
        network.append(contentsOf: ready.messages)
    }

    func finishReady(_ replica: Replica) {
        guard let ready = replica.pendingReady, replica.node != nil else { return }
        // Writes are durable in the order submitted: those in flight first.
        while !replica.inflight.isEmpty { completeWrite(replica) }
        replica.pendingReady = nil
        replica.storage.persist(ready)
        network.append(contentsOf: ready.messagesAfterPersist)
        apply(ready, on: replica)
        replica.node!.advance(ready)
    }

    func handOff(_ replica: Replica) {
        guard let ready = replica.pendingReady, replica.node != nil else { return }
        guard ready.snapshot == nil else {
            say("\(replica.id) installs a snapshot: persisted, not handed off")
            finishReady(replica)
            return
        }
        replica.pendingReady = nil
        apply(ready, on: replica)
        replica.node!.handOff(ready)
        replica.inflight.append(ready)
        let entries = ready.entries.isEmpty ? "no entries" : "entries \(ready.entries.first!.index)...\(ready.entries.last!.index)"
        say("\(replica.id) write in flight: \(entries)\(ready.hardState.map { " \($0)" } ?? "")")
    }

    func completeWrite(_ replica: Replica) {
        let ready = replica.inflight.removeFirst()
        replica.storage.persist(ready)
        network.append(contentsOf: ready.messagesAfterPersist)
        replica.node!.persisted(ready)
        say("\(replica.id) write durable (durable last=\(replica.storage.lastIndex))")
    }

    func apply(_ ready: Ready, on replica: Replica) {
        if let metadata = ready.snapshot {
            replica.applied = snapshotData[SnapshotKey(index: metadata.index, term: metadata.term)] ?? []
            replica.appliedIndex = metadata.index
        }
        for entry in ready.committedEntries where entry.index > replica.appliedIndex {
            replica.appliedIndex = entry.index
            if case .command(let bytes) = entry.payload {
                replica.applied.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        if let first = ready.committedEntries.first, let last = ready.committedEntries.last {
            say(first.index == last.index ? "\(replica.id) applied \(first.index)" : "\(replica.id) applied \(first.index)...\(last.index)")
        }
        for state in ready.readStates {
            say("\(replica.id) read \(state.requests.map(\.description).joined(separator: ",")) at index \(state.index)")
        }
        if !ready.failedReads.isEmpty {
            say("\(replica.id) reads failed: \(ready.failedReads.map(\.description).joined(separator: ","))")
        }
    }

    func reportReady(_ replica: Replica, _ ready: Ready) {
        if let change = ready.roleChange {
            say("\(replica.id) is \(change.role) term=\(change.term) leader=\(change.leader)")
        }
    }

    func reportRoleChange(_ replica: Replica) {
        guard let node = replica.node else { return }
        let change = Ready.RoleChange(role: node.role, leader: node.leader, term: node.term)
        if change != node.lastRoleChange {
            say("\(replica.id) is \(change.role) term=\(change.term) leader=\(change.leader)")
        }
    }

    func reachable(_ from: ReplicaID, _ to: ReplicaID) -> Bool {
        guard let fromGroup = partitionGroup[from], let toGroup = partitionGroup[to] else { return true }
        return fromGroup == toGroup
    }

    /// Delivers (or drops) the queued messages that match, in order. Messages produced while
    /// delivering wait for the next call.
    func deliver(from: ReplicaID?, to: ReplicaID?, drop: Bool) {
        let batch = network
        network = []
        for message in batch {
            if let from, message.from != from { network.append(message); continue }
            if let to, message.to != to { network.append(message); continue }
            let receiver = replicas[message.to]
            if drop || !reachable(message.from, message.to) || receiver?.node == nil {
                say("dropped \(describe(message))")
                if case .installSnapshot = message.kind { replicas[message.from]?.node?.reportSnapshot(to: message.to, succeeded: false) }
                continue
            }
            say(describe(message))
            receiver!.node!.step(message)
            if case .installSnapshot = message.kind {
                replicas[message.from]?.node?.reportSnapshot(to: message.to, succeeded: true)
            }
        }
    }

    func stabilize(limit: Int) {
        for _ in 0..<limit {
            var progressed = false
            for id in replicas.keys.sorted() {
                let replica = replicas[id]!
                if replica.pendingReady != nil { finishReady(replica); progressed = true }
                if !replica.inflight.isEmpty { completeWrite(replica); progressed = true }
                if let node = replica.node, node.hasReady {
                    takeReady(replica)
                    finishReady(replica)
                    progressed = true
                }
            }
            if !network.isEmpty {
                deliver(from: nil, to: nil, drop: false)
                progressed = true
            }
            if !progressed { return }
        }
        say("stabilize: still busy after \(limit) rounds")
    }

    func restart(_ replica: Replica) {
        let snapshot = replica.storage.snapshot
        replica.applied = snapshotData[SnapshotKey(index: snapshot.index, term: snapshot.term)] ?? []
        replica.appliedIndex = snapshot.index
        replica.pendingReady = nil
        replica.inflight = []
        replica.node = RaftNode(configuration: replica.configuration, storage: replica.storage, appliedIndex: snapshot.index)
    }

    func takeSnapshot(_ replica: Replica, keep: UInt64) {
        let metadata = replica.node!.snapshotMetadataAtApplied
        snapshotData[SnapshotKey(index: metadata.index, term: metadata.term)] = replica.applied
        let through = metadata.index.rawValue > keep ? metadata.index.rawValue - keep : 0
        replica.storage.recordSnapshot(metadata, compactThrough: LogIndex(through))
        say("\(replica.id) snapshot at \(metadata.index)/\(metadata.term); log now \(replica.storage.firstIndex)...\(replica.storage.lastIndex)")
    }

    // MARK: - Printing

    func printStatus(_ targets: [Replica]) {
        for replica in targets {
            guard let node = replica.node else {
                say("\(replica.id): down")
                continue
            }
            var line = "\(replica.id): \(node.role) term=\(node.term) vote=\(node.vote) leader=\(node.leader)"
            line += " commit=\(node.commitIndex) applied=\(node.appliedIndex) last=\(node.lastIndex)"
            line += " first=\(node.firstIndex) snapshot=\(node.snapshotIndex) \(node.latestMembership)"
            if node.transferTarget != .none { line += " transfer=\(node.transferTarget)" }
            say(line)
        }
    }

    func printLog(_ replica: Replica) {
        let storage = replica.storage
        var parts: [String] = []
        if let node = replica.node {
            let entries = node.log.entries(from: node.log.firstIndex, through: node.log.lastIndex, bytesMax: Int.max) ?? []
            for entry in entries {
                let durable = entry.index < node.log.unstableOffset
                parts.append(describe(entry) + (durable ? "" : " (unstable)"))
            }
        } else {
            for entry in storage.entries(from: storage.firstIndex, through: storage.lastIndex, bytesMax: Int.max) {
                parts.append(describe(entry))
            }
        }
        let header = "\(replica.id): log \(storage.firstIndex)...\(replica.node?.lastIndex ?? storage.lastIndex)"
        say(parts.isEmpty ? header + " empty" : header + " " + parts.joined(separator: ", "))
    }

    func printProgress(_ replica: Replica) {
        let node = replica.node!
        guard node.isLeader else {
            say("\(replica.id) is not leader")
            return
        }
        for peer in node.progress.keys.sorted() {
            let progress = node.progress[peer]!
            var line = "\(peer): \(progress.state.rawValue) match=\(progress.match) next=\(progress.next)"
            if progress.state == .snapshot { line += " pending-snapshot=\(progress.pendingSnapshotIndex)" }
            if progress.inflight.count > 0 { line += " inflight=\(progress.inflight.count)" }
            if progress.probeSent { line += " paused" }
            say(line)
        }
    }

    func describe(_ entry: Entry) -> String {
        switch entry.payload {
        case .empty: return "\(entry.index)/\(entry.term) empty"
        case .command(let bytes): return "\(entry.index)/\(entry.term) \"\(String(decoding: bytes, as: UTF8.self))\""
        case .membershipChange(let change): return "\(entry.index)/\(entry.term) \(change)"
        }
    }

    func describe(_ message: Message) -> String {
        let head = "\(message.from)->\(message.to) "
        let term = "term=\(message.term)"
        switch message.kind {
        case .append(let append):
            let entries = append.entries.map(describe).joined(separator: ", ")
            return head + "append \(term) prev=\(append.previousIndex)/\(append.previousTerm) commit=\(append.commit) entries=[\(entries)]"
        case .appendResponse(let response):
            if response.rejected {
                return head + "append-response \(term) rejected index=\(response.index) hint=\(response.hintIndex)/\(response.hintTerm)"
            }
            return head + "append-response \(term) index=\(response.index)"
        case .voteRequest(let request):
            var text = head + (request.isPreVote ? "pre-vote-request" : "vote-request") + " \(term) last=\(request.lastIndex)/\(request.lastTerm)"
            if request.isLeadershipTransfer { text += " transfer" }
            return text
        case .voteResponse(let response):
            return head + (response.isPreVote ? "pre-vote-response" : "vote-response") + " \(term) " + (response.granted ? "granted" : "rejected")
        case .heartbeat(let heartbeat):
            return head + "heartbeat \(term) commit=\(heartbeat.commit)" + (heartbeat.readRound > 0 ? " round=\(heartbeat.readRound)" : "")
        case .heartbeatResponse(let response):
            return head + "heartbeat-response \(term)" + (response.readRound > 0 ? " round=\(response.readRound)" : "")
        case .installSnapshot(let metadata):
            return head + "snapshot \(term) index=\(metadata.index)/\(metadata.term) \(metadata.membership)"
        case .timeoutNow:
            return head + "timeout-now \(term)"
        case .readIndexRequest(let requests):
            return head + "read-index-request \(term) reads=\(requests.map(\.description).joined(separator: ","))"
        case .readIndexResponse(let response):
            return head + "read-index-response \(term) index=\(response.index) reads=\(response.requests.map(\.description).joined(separator: ","))"
        }
    }
}
