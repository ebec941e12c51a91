import FlotillaRaft
@testable import FlotillaHost
#if canImport(Glibc)
import Glibc
#endif

/// Fuzzes the snapshot file reader (`SnapshotFile.decode`, which `read(from:)` and a finished
/// transfer both go through). Each input is decoded as it is, and once more with its trailing
/// CRC-32C set to match: without that, almost every mutation would stop at the checksum and the
/// parser behind it would never be reached. Property besides not trapping: a decoded snapshot
/// never holds more records than its bytes can carry (each record is at least 8 bytes).
enum SnapshotFileFuzzTarget {
    static func run(_ input: [UInt8]) {
        check(input)
        guard input.count >= 4 else { return }
        var patched = input
        let checksum = CRC32C.checksum(Array(input[..<(input.count - 4)]))
        patched.replaceSubrange((input.count - 4)..., with: FuzzSeedWriter.littleEndian(checksum))
        check(patched)
    }

    static func check(_ bytes: [UInt8]) {
        guard let (_, stateMachine) = try? SnapshotFile.decode(bytes) else { return }
        fuzzCheck(stateMachine.count * 8 <= bytes.count, "\(stateMachine.count) records from \(bytes.count) bytes")
    }

    static var seeds: [(name: String, bytes: [UInt8])] {
        let membership = Membership(
            voters: [ReplicaID(1): "127.0.0.1:7001", ReplicaID(2): "127.0.0.1:7002", ReplicaID(3): "127.0.0.1:7003"],
            configurationIndex: LogIndex(3)
        )
        let header = SnapshotFile.Header(
            clusterID: 0x1234_5678, shard: ShardID(1), shardCount: 4,
            metadata: SnapshotMetadata(index: LogIndex(20), term: Term(2), membership: membership)
        )
        let empty = encoded(header, KeyValueStateMachine(values: [:]))
        let some = encoded(header, KeyValueStateMachine(values: [
            Array("alpha".utf8): Array("1".utf8), Array("beta".utf8): [], [0, 255]: Array("binary key".utf8),
        ]))
        // The record count raised to 2^63 with the checksum kept valid: the reader must refuse
        // it without reserving room for that many records.
        var hugeCount = empty
        let countOffset = empty.count - 8 - 4 - 8
        hugeCount.replaceSubrange(countOffset..<(countOffset + 8), with: [0, 0, 0, 0, 0, 0, 0, 0x80])
        let body = hugeCount.count - 4
        hugeCount.replaceSubrange(body..., with: FuzzSeedWriter.littleEndian(CRC32C.checksum(Array(hugeCount[..<body]))))
        var otherVersion = some
        otherVersion[8] = 2
        return [
            (name: "empty-state-machine", bytes: empty),
            (name: "three-records", bytes: some),
            (name: "huge-record-count", bytes: hugeCount),
            (name: "other-version", bytes: otherVersion),
            (name: "truncated", bytes: Array(some[..<(some.count / 2)])),
            (name: "magic-only", bytes: Array("FLOTSNAP".utf8)),
        ]
    }

    /// The bytes `SnapshotFile.write` puts on disk, read back from a temporary file.
    static func encoded(_ header: SnapshotFile.Header, _ stateMachine: KeyValueStateMachine) -> [UInt8] {
        let path = "/tmp/flotilla-fuzz-seed-\(getpid()).snapshot"
        do { try SnapshotFile.write(header, stateMachine: stateMachine, to: path) } catch { fatalError("\(error)") }
        defer { unlink(path) }
        guard let file = fopen(path, "rb") else { fatalError("cannot open \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            bytes += buffer[..<count]
            if count < buffer.count { return bytes }
        }
    }
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argumentCount: UnsafeMutablePointer<CInt>, _ arguments: UnsafeMutableRawPointer) -> CInt {
    FuzzSeedWriter.writeIfAsked(SnapshotFileFuzzTarget.seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    SnapshotFileFuzzTarget.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
