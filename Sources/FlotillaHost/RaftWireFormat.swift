import FlotillaRaft

/// Binary forms of the core's values: entry payloads stored in the log, and messages between
/// hosts. Each kind starts with a tag byte so that the format can grow.
public enum RaftWireFormat {
    public static func encode(_ payload: EntryPayload) -> [UInt8] {
        var writer = ByteWriter(capacity: payload.sizeBytes + 8)
        encode(payload, into: &writer)
        return writer.bytes
    }

    public static func encode(_ payload: EntryPayload, into writer: inout ByteWriter) {
        switch payload {
        case .empty:
            writer.write(UInt8(0))
        case .command(let bytes):
            writer.write(UInt8(1))
            writer.writeBlob(bytes)
        case .membershipChange(let change):
            writer.write(UInt8(2))
            encode(change, into: &writer)
        }
    }

    public static func decodePayload(_ bytes: [UInt8]) throws(DecodingError) -> EntryPayload {
        var reader = ByteReader(bytes)
        return try decodePayload(from: &reader)
    }

    public static func decodePayload(from reader: inout ByteReader) throws(DecodingError) -> EntryPayload {
        switch try reader.readByte() {
        case 0: return .empty
        case 1: return .command(try reader.readBlob())
        case 2: return .membershipChange(try decodeChange(from: &reader))
        case let tag: throw .invalid("entry payload tag \(tag)")
        }
    }

    static func encode(_ change: MembershipChange, into writer: inout ByteWriter) {
        writer.write(change.kind.rawValue)
        writer.write(change.replica.rawValue)
        writer.writeString(change.address)
    }

    static func decodeChange(from reader: inout ByteReader) throws(DecodingError) -> MembershipChange {
        let rawKind = try reader.readByte()
        guard let kind = MembershipChange.Kind(rawValue: rawKind) else { throw .invalid("membership change kind \(rawKind)") }
        let replica = ReplicaID(try reader.readUInt64())
        let address = try reader.readString()
        return MembershipChange(kind: kind, replica: replica, address: address)
    }

    public static func encode(_ membership: Membership) -> [UInt8] {
        var writer = ByteWriter()
        encode(membership, into: &writer)
        return writer.bytes
    }

    public static func encode(_ membership: Membership, into writer: inout ByteWriter) {
        writer.write(membership.configurationIndex.rawValue)
        writer.write(UInt32(membership.voters.count))
        for voter in membership.voters {
            writer.write(voter.rawValue)
            writer.writeString(membership.voterAddresses[voter]!)
        }
        writer.write(UInt32(membership.observers.count))
        for observer in membership.observers {
            writer.write(observer.rawValue)
            writer.writeString(membership.observerAddresses[observer]!)
        }
        writer.write(UInt32(membership.removed.count))
        for removed in membership.removedSorted { writer.write(removed.rawValue) }
    }

    public static func decodeMembership(_ bytes: [UInt8]) throws(DecodingError) -> Membership {
        var reader = ByteReader(bytes)
        return try decodeMembership(from: &reader)
    }

    public static func decodeMembership(from reader: inout ByteReader) throws(DecodingError) -> Membership {
        let configurationIndex = LogIndex(try reader.readUInt64())
        var voters: [ReplicaID: String] = [:]
        let voterCount = try reader.readUInt32()
        guard voterCount <= 10_000 else { throw .invalid("\(voterCount) voters") }
        for _ in 0..<voterCount {
            let id = ReplicaID(try reader.readUInt64())
            voters[id] = try reader.readString()
        }
        var observers: [ReplicaID: String] = [:]
        let observerCount = try reader.readUInt32()
        guard observerCount <= 10_000 else { throw .invalid("\(observerCount) observers") }
        for _ in 0..<observerCount {
            let id = ReplicaID(try reader.readUInt64())
            observers[id] = try reader.readString()
        }
        var removed: Set<ReplicaID> = []
        let removedCount = try reader.readUInt32()
        guard removedCount <= 1_000_000 else { throw .invalid("\(removedCount) removed") }
        for _ in 0..<removedCount { removed.insert(ReplicaID(try reader.readUInt64())) }
        return Membership(voters: voters, observers: observers, removed: removed, configurationIndex: configurationIndex)
    }

    public static func encode(_ metadata: SnapshotMetadata, into writer: inout ByteWriter) {
        writer.write(metadata.index.rawValue)
        writer.write(metadata.term.rawValue)
        encode(metadata.membership, into: &writer)
    }

    public static func decodeSnapshotMetadata(from reader: inout ByteReader) throws(DecodingError) -> SnapshotMetadata {
        let index = LogIndex(try reader.readUInt64())
        let term = Term(try reader.readUInt64())
        let membership = try decodeMembership(from: &reader)
        return SnapshotMetadata(index: index, term: term, membership: membership)
    }

    static func encode(_ entry: Entry, into writer: inout ByteWriter) {
        writer.write(entry.index.rawValue)
        writer.write(entry.term.rawValue)
        encode(entry.payload, into: &writer)
    }

    static func decodeEntry(from reader: inout ByteReader) throws(DecodingError) -> Entry {
        let index = LogIndex(try reader.readUInt64())
        let term = Term(try reader.readUInt64())
        let payload = try decodePayload(from: &reader)
        return Entry(index: index, term: term, payload: payload)
    }

    /// A message of one shard between hosts.
    public static func encode(_ message: Message, into writer: inout ByteWriter) {
        writer.write(message.from.rawValue)
        writer.write(message.to.rawValue)
        writer.write(message.term.rawValue)
        switch message.kind {
        case .append(let append):
            writer.write(UInt8(1))
            writer.write(append.previousIndex.rawValue)
            writer.write(append.previousTerm.rawValue)
            writer.write(append.commit.rawValue)
            writer.write(UInt32(append.entries.count))
            for entry in append.entries { encode(entry, into: &writer) }
        case .appendResponse(let response):
            writer.write(UInt8(2))
            writer.write(response.index.rawValue)
            writer.write(response.rejected)
            writer.write(response.hintIndex.rawValue)
            writer.write(response.hintTerm.rawValue)
        case .voteRequest(let request):
            writer.write(UInt8(3))
            writer.write(request.lastIndex.rawValue)
            writer.write(request.lastTerm.rawValue)
            writer.write(request.isPreVote)
            writer.write(request.isLeadershipTransfer)
        case .voteResponse(let response):
            writer.write(UInt8(4))
            writer.write(response.granted)
            writer.write(response.isPreVote)
        case .heartbeat(let heartbeat):
            writer.write(UInt8(5))
            writer.write(heartbeat.commit.rawValue)
            writer.write(heartbeat.readRound)
        case .heartbeatResponse(let response):
            writer.write(UInt8(6))
            writer.write(response.readRound)
        case .installSnapshot(let metadata):
            writer.write(UInt8(7))
            encode(metadata, into: &writer)
        case .timeoutNow:
            writer.write(UInt8(8))
        case .readIndexRequest(let requests):
            writer.write(UInt8(9))
            writer.write(UInt32(requests.count))
            for request in requests { writer.write(request.rawValue) }
        case .readIndexResponse(let response):
            writer.write(UInt8(10))
            writer.write(response.index.rawValue)
            writer.write(UInt32(response.requests.count))
            for request in response.requests { writer.write(request.rawValue) }
        }
    }

    public static func decodeMessage(from reader: inout ByteReader) throws(DecodingError) -> Message {
        let from = ReplicaID(try reader.readUInt64())
        let to = ReplicaID(try reader.readUInt64())
        let term = Term(try reader.readUInt64())
        let kind: MessageKind
        switch try reader.readByte() {
        case 1:
            let previousIndex = LogIndex(try reader.readUInt64())
            let previousTerm = Term(try reader.readUInt64())
            let commit = LogIndex(try reader.readUInt64())
            let count = try reader.readUInt32()
            // An entry takes at least 17 bytes (index, term, payload tag): a count the bytes left
            // cannot hold is refused before room is reserved for it.
            guard Int(count) * 17 <= reader.remaining else { throw .truncated }
            var entries: [Entry] = []
            entries.reserveCapacity(Int(count))
            for _ in 0..<count { entries.append(try decodeEntry(from: &reader)) }
            kind = .append(.init(previousIndex: previousIndex, previousTerm: previousTerm, entries: entries, commit: commit))
        case 2:
            let index = LogIndex(try reader.readUInt64())
            let rejected = try reader.readBool()
            let hintIndex = LogIndex(try reader.readUInt64())
            let hintTerm = Term(try reader.readUInt64())
            kind = .appendResponse(.init(index: index, rejected: rejected, hintIndex: hintIndex, hintTerm: hintTerm))
        case 3:
            let lastIndex = LogIndex(try reader.readUInt64())
            let lastTerm = Term(try reader.readUInt64())
            let isPreVote = try reader.readBool()
            let isTransfer = try reader.readBool()
            kind = .voteRequest(.init(lastIndex: lastIndex, lastTerm: lastTerm, isPreVote: isPreVote, isLeadershipTransfer: isTransfer))
        case 4:
            let granted = try reader.readBool()
            let isPreVote = try reader.readBool()
            kind = .voteResponse(.init(granted: granted, isPreVote: isPreVote))
        case 5:
            let commit = LogIndex(try reader.readUInt64())
            let round = try reader.readUInt64()
            kind = .heartbeat(.init(commit: commit, readRound: round))
        case 6:
            kind = .heartbeatResponse(.init(readRound: try reader.readUInt64()))
        case 7:
            kind = .installSnapshot(try decodeSnapshotMetadata(from: &reader))
        case 8:
            kind = .timeoutNow
        case 9:
            let count = try reader.readUInt32()
            guard Int(count) * 8 <= reader.remaining else { throw .truncated }
            var requests: [ReadRequestID] = []
            for _ in 0..<count { requests.append(ReadRequestID(try reader.readUInt64())) }
            kind = .readIndexRequest(requests)
        case 10:
            let index = LogIndex(try reader.readUInt64())
            let count = try reader.readUInt32()
            guard Int(count) * 8 <= reader.remaining else { throw .truncated }
            var requests: [ReadRequestID] = []
            for _ in 0..<count { requests.append(ReadRequestID(try reader.readUInt64())) }
            kind = .readIndexResponse(.init(requests: requests, index: index))
        case let tag:
            throw .invalid("message tag \(tag)")
        }
        return Message(from: from, to: to, term: term, kind: kind)
    }
}
