import FlotillaRaft
@testable import FlotillaHost

/// Fuzzes every decoder of the binary forms hosts exchange and store: messages (one after
/// another, as a messages frame carries them after their shard), entry payloads, memberships,
/// snapshot metadata, snapshot chunks and key-value commands. Each is run on the whole input.
/// Property besides not trapping: whatever decodes, encoded again, decodes to the same value.
enum RaftWireFormatFuzzTarget {
    static func run(_ input: [UInt8]) {
        var reader = ByteReader(input)
        while !reader.isAtEnd, let message = try? RaftWireFormat.decodeMessage(from: &reader) {
            var writer = ByteWriter()
            RaftWireFormat.encode(message, into: &writer)
            var again = ByteReader(writer.bytes)
            fuzzCheck((try? RaftWireFormat.decodeMessage(from: &again)) == message && again.isAtEnd, "message round trip: \(message)")
        }
        if let payload = try? RaftWireFormat.decodePayload(input) {
            fuzzCheck((try? RaftWireFormat.decodePayload(RaftWireFormat.encode(payload))) == payload, "payload round trip: \(payload)")
        }
        if let membership = try? RaftWireFormat.decodeMembership(input) {
            let again = try? RaftWireFormat.decodeMembership(RaftWireFormat.encode(membership))
            fuzzCheck(again == membership, "membership round trip: \(membership)")
        }
        var metadataReader = ByteReader(input)
        if let metadata = try? RaftWireFormat.decodeSnapshotMetadata(from: &metadataReader) {
            var writer = ByteWriter()
            RaftWireFormat.encode(metadata, into: &writer)
            var again = ByteReader(writer.bytes)
            fuzzCheck((try? RaftWireFormat.decodeSnapshotMetadata(from: &again)) == metadata, "metadata round trip: \(metadata)")
        }
        var chunkReader = ByteReader(input)
        if let chunk = try? SnapshotChunk(decoding: &chunkReader) {
            var again = ByteReader(chunk.encoded())
            fuzzCheck((try? SnapshotChunk(decoding: &again)) == chunk, "snapshot chunk round trip")
        }
        if let entry = try? KeyValueEntry(decoding: input) {
            fuzzCheck((try? KeyValueEntry(decoding: entry.encoded())) == entry, "command round trip: \(entry)")
        }
    }

    static var seeds: [(name: String, bytes: [UInt8])] {
        let membership = Membership(
            voters: [ReplicaID(1): "127.0.0.1:7001", ReplicaID(2): "127.0.0.1:7002"],
            observers: [ReplicaID(4): "127.0.0.1:7004"],
            removed: [ReplicaID(3)],
            configurationIndex: LogIndex(7)
        )
        let metadata = SnapshotMetadata(index: LogIndex(40), term: Term(3), membership: membership)
        let entries = [
            Entry(index: LogIndex(5), term: Term(2), payload: .empty),
            Entry(index: LogIndex(6), term: Term(2), payload: .command(KeyValueEntry(timeMilliseconds: 1_700_000_000_000, command: .put(key: Array("k".utf8), value: Array("v".utf8))).encoded())),
            Entry(index: LogIndex(7), term: Term(2), payload: .membershipChange(MembershipChange(kind: .addObserver, replica: ReplicaID(4), address: "127.0.0.1:7004"))),
        ]
        let kinds: [MessageKind] = [
            .append(.init(previousIndex: LogIndex(4), previousTerm: Term(2), entries: entries, commit: LogIndex(5))),
            .appendResponse(.init(index: LogIndex(9), rejected: true, hintIndex: LogIndex(3), hintTerm: Term(1))),
            .voteRequest(.init(lastIndex: LogIndex(9), lastTerm: Term(2), isPreVote: true, isLeadershipTransfer: false)),
            .voteResponse(.init(granted: true, isPreVote: false)),
            .heartbeat(.init(commit: LogIndex(9), readRound: 12)),
            .heartbeatResponse(.init(readRound: 12)),
            .installSnapshot(metadata),
            .timeoutNow,
            .readIndexRequest([ReadRequestID(1), ReadRequestID(2)]),
            .readIndexResponse(.init(requests: [ReadRequestID(3)], index: LogIndex(9))),
        ]
        var seeds: [(name: String, bytes: [UInt8])] = kinds.enumerated().map { position, kind in
            var writer = ByteWriter()
            RaftWireFormat.encode(Message(from: ReplicaID(1), to: ReplicaID(2), term: Term(3), kind: kind), into: &writer)
            return (name: "message-\(position + 1)", bytes: writer.bytes)
        }
        for (position, entry) in entries.enumerated() {
            seeds.append((name: "payload-\(position)", bytes: RaftWireFormat.encode(entry.payload)))
        }
        seeds.append((name: "membership", bytes: RaftWireFormat.encode(membership)))
        var metadataWriter = ByteWriter()
        RaftWireFormat.encode(metadata, into: &metadataWriter)
        seeds.append((name: "snapshot-metadata", bytes: metadataWriter.bytes))
        let chunk = SnapshotChunk(
            shard: ShardID(1), from: ReplicaID(1), to: ReplicaID(2), transferID: 5, sequence: 0, isLast: false,
            message: Message(from: ReplicaID(1), to: ReplicaID(2), term: Term(3), kind: .installSnapshot(metadata)),
            data: Array("snapshot bytes".utf8)
        )
        seeds.append((name: "snapshot-chunk", bytes: chunk.encoded()))
        seeds.append((name: "command-cas", bytes: KeyValueEntry(timeMilliseconds: 7, command: .compareAndSet(key: [1], expected: [2], new: [3])).encoded()))
        // A message header and an append claiming 2^32 - 1 entries with none present.
        var huge = ByteWriter()
        for value: UInt64 in [1, 2, 3] { huge.write(value) }
        huge.write(UInt8(1))
        for value: UInt64 in [0, 0, 0] { huge.write(value) }
        huge.write(UInt32.max)
        seeds.append((name: "append-count-without-entries", bytes: huge.bytes))
        // A membership claiming the most voters it allows, each missing.
        seeds.append((name: "membership-count-without-voters", bytes: [UInt8](repeating: 0, count: 8) + FuzzSeedWriter.littleEndian(10_000)))
        return seeds
    }
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argumentCount: UnsafeMutablePointer<CInt>, _ arguments: UnsafeMutableRawPointer) -> CInt {
    FuzzSeedWriter.writeIfAsked(RaftWireFormatFuzzTarget.seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    RaftWireFormatFuzzTarget.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
