import FlotillaHost
import FlotillaRaft

/// Random values of everything the Raft wire format carries, from a seed, so that a failing
/// round trip replays exactly. Numbers are drawn often from the edges (0, 1, the maximum),
/// where a narrowing or a sign mistake in an encoder would show.
struct WireValueGenerator {
    /// The message kinds, one per `MessageKind` case, by the name `kindName` gives.
    static let kindNames = [
        "append", "appendResponse", "voteRequest", "voteResponse", "heartbeat", "heartbeatResponse",
        "installSnapshot", "timeoutNow", "readIndexRequest", "readIndexResponse",
    ]

    /// Exhaustive over `MessageKind`, so that a new case does not compile until it is named here
    /// (and then generated, since the round trip test checks every name was produced).
    static func kindName(_ kind: MessageKind) -> String {
        switch kind {
        case .append: return "append"
        case .appendResponse: return "appendResponse"
        case .voteRequest: return "voteRequest"
        case .voteResponse: return "voteResponse"
        case .heartbeat: return "heartbeat"
        case .heartbeatResponse: return "heartbeatResponse"
        case .installSnapshot: return "installSnapshot"
        case .timeoutNow: return "timeoutNow"
        case .readIndexRequest: return "readIndexRequest"
        case .readIndexResponse: return "readIndexResponse"
        }
    }

    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    mutating func number() -> UInt64 {
        switch random.next() % 6 {
        case 0: return 0
        case 1: return 1
        case 2: return .max
        case 3: return random.next() % 1000
        default: return random.next()
        }
    }

    mutating func count(upTo countMax: Int) -> Int { Int(random.next() % UInt64(countMax + 1)) }

    mutating func flag() -> Bool { random.next() & 1 == 1 }

    mutating func bytes(upTo countMax: Int) -> [UInt8] {
        (0..<count(upTo: countMax)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// Valid Unicode of one to four UTF-8 bytes per scalar (the wire carries UTF-8).
    mutating func text(upTo countMax: Int) -> String {
        let ranges: [ClosedRange<UInt32>] = [0x20...0x7E, 0xA0...0x7FF, 0x800...0xD7FF, 0x10000...0x10FFFF]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<count(upTo: countMax) {
            let range = ranges[Int(random.next() % UInt64(ranges.count))]
            let value = range.lowerBound + UInt32(random.next() % UInt64(range.upperBound - range.lowerBound + 1))
            scalars.append(Unicode.Scalar(value)!)
        }
        return String(scalars)
    }

    mutating func membershipChange() -> MembershipChange {
        let kinds: [MembershipChange.Kind] = [.addObserver, .promoteObserver, .addVoter, .remove]
        return MembershipChange(kind: kinds[count(upTo: kinds.count - 1)], replica: ReplicaID(number()), address: text(upTo: 24))
    }

    mutating func payload() -> EntryPayload {
        switch random.next() % 3 {
        case 0: return .empty
        case 1: return .command(bytes(upTo: 64))
        default: return .membershipChange(membershipChange())
        }
    }

    mutating func entry() -> Entry {
        Entry(index: LogIndex(number()), term: Term(number()), payload: payload())
    }

    mutating func membership() -> Membership {
        var voters: [ReplicaID: String] = [:]
        var observers: [ReplicaID: String] = [:]
        var removed: Set<ReplicaID> = []
        for _ in 0..<count(upTo: 7) { voters[ReplicaID(number())] = text(upTo: 20) }
        for _ in 0..<count(upTo: 3) { observers[ReplicaID(number())] = text(upTo: 20) }
        for _ in 0..<count(upTo: 5) { removed.insert(ReplicaID(number())) }
        return Membership(voters: voters, observers: observers, removed: removed, configurationIndex: LogIndex(number()))
    }

    mutating func snapshotMetadata() -> SnapshotMetadata {
        SnapshotMetadata(index: LogIndex(number()), term: Term(number()), membership: membership())
    }

    mutating func readRequests() -> [ReadRequestID] {
        (0..<count(upTo: 6)).map { _ in ReadRequestID(number()) }
    }

    /// A message of the kind at `kindPosition` in `kindNames`, every field random.
    mutating func message(kindPosition: Int) -> Message {
        let kind: MessageKind
        switch Self.kindNames[kindPosition] {
        case "append":
            kind = .append(.init(previousIndex: LogIndex(number()), previousTerm: Term(number()),
                                 entries: (0..<count(upTo: 5)).map { _ in entry() }, commit: LogIndex(number())))
        case "appendResponse":
            kind = .appendResponse(.init(index: LogIndex(number()), rejected: flag(), hintIndex: LogIndex(number()), hintTerm: Term(number())))
        case "voteRequest":
            kind = .voteRequest(.init(lastIndex: LogIndex(number()), lastTerm: Term(number()), isPreVote: flag(), isLeadershipTransfer: flag()))
        case "voteResponse":
            kind = .voteResponse(.init(granted: flag(), isPreVote: flag()))
        case "heartbeat":
            kind = .heartbeat(.init(commit: LogIndex(number()), readRound: number()))
        case "heartbeatResponse":
            kind = .heartbeatResponse(.init(readRound: number()))
        case "installSnapshot":
            kind = .installSnapshot(snapshotMetadata())
        case "timeoutNow":
            kind = .timeoutNow
        case "readIndexRequest":
            kind = .readIndexRequest(readRequests())
        default:
            kind = .readIndexResponse(.init(requests: readRequests(), index: LogIndex(number())))
        }
        return Message(from: ReplicaID(number()), to: ReplicaID(number()), term: Term(number()), kind: kind)
    }
}
