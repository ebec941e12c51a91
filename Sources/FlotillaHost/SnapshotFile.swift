import FlotillaRaft
#if canImport(Glibc)
import Glibc
#endif

/// A self-contained snapshot of one shard on disk:
///
///     "FLOTSNAP" | format version u32 | cluster id u64 | shard u64 | shard count u64 | metadata
///     | record count u64 | records (key blob, value blob)...
///     | expiry count u64 | expiries (key blob, unix milliseconds u64)... | "SNAPEND!" | CRC-32C u32
///
/// Version 1 files (written before keys could expire) have no expiry section; they are still
/// read.
/// The checksum covers every byte before it. Files are written to a temporary name, synced
/// and renamed, so a crash never leaves a half file that looks whole; a reader checks magic,
/// version, lengths and checksum and refuses anything else without changing any state.
public enum SnapshotFile {
    public static let formatVersion: UInt32 = 2
    static let readableVersions: ClosedRange<UInt32> = 1...2
    static let magic: [UInt8] = Array("FLOTSNAP".utf8)
    static let endMagic: [UInt8] = Array("SNAPEND!".utf8)

    public struct Header: Sendable, Equatable {
        public var clusterID: UInt64
        public var shard: ShardID
        /// How many shards the cluster has, so that a restore can tell a set is complete.
        public var shardCount: UInt64
        public var metadata: SnapshotMetadata
        public init(clusterID: UInt64, shard: ShardID, shardCount: UInt64, metadata: SnapshotMetadata) {
            self.clusterID = clusterID
            self.shard = shard
            self.shardCount = shardCount
            self.metadata = metadata
        }
    }

    /// Writes `stateMachine` with `header` to `path` atomically and durably. Returns the size.
    @discardableResult
    public static func write(_ header: Header, stateMachine: KeyValueStateMachine, to path: String) throws(SnapshotFileError) -> Int {
        let temporary = path + ".tmp"
        guard let file = fopen(temporary, "wb") else { throw .io("cannot create \(temporary): \(errorText())") }
        var crc = CRC32C()
        var written = 0
        var failed = false
        func emit(_ bytes: [UInt8]) {
            guard !failed else { return }
            let count = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            if count != bytes.count { failed = true }
            crc.update(bytes)
            written += bytes.count
        }
        var head = ByteWriter(capacity: 256)
        head.writeRaw(magic)
        head.write(formatVersion)
        head.write(header.clusterID)
        head.write(header.shard.rawValue)
        head.write(header.shardCount)
        RaftWireFormat.encode(header.metadata, into: &head)
        head.write(UInt64(stateMachine.count))
        emit(head.bytes)
        var chunk = ByteWriter(capacity: 1 << 16)
        for key in stateMachine.values.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            chunk.writeBlob(key)
            chunk.writeBlob(stateMachine.values[key]!)
            if chunk.bytes.count >= 1 << 16 {
                emit(chunk.bytes)
                chunk = ByteWriter(capacity: 1 << 16)
            }
        }
        var expiries = ByteWriter(capacity: 8 + stateMachine.expiries.count * 24)
        expiries.write(UInt64(stateMachine.expiries.count))
        for (key, expiry) in stateMachine.expiries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            expiries.writeBlob(key)
            expiries.write(expiry)
        }
        emit(chunk.bytes)
        emit(expiries.bytes)
        emit(endMagic)
        var trailer = ByteWriter(capacity: 4)
        trailer.write(crc.checksum)
        let trailerBytes = trailer.bytes
        let trailerCount = trailerBytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        if trailerCount != 4 { failed = true }
        written += 4
        if fflush(file) != 0 || fsync(fileno(file)) != 0 { failed = true }
        fclose(file)
        if failed {
            unlink(temporary)
            throw .io("writing \(temporary) failed: \(errorText())")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .io("renaming \(temporary) failed: \(errorText())")
        }
        syncDirectory(of: path)
        return written
    }

    /// Reads and validates a snapshot file; nothing is returned unless every check passes.
    public static func read(from path: String) throws(SnapshotFileError) -> (header: Header, stateMachine: KeyValueStateMachine) {
        guard let file = fopen(path, "rb") else { throw .io("cannot open \(path): \(errorText())") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count > 0 { bytes.append(contentsOf: buffer[0..<count]) }
            if count < buffer.count {
                if ferror(file) != 0 { throw .io("reading \(path) failed: \(errorText())") }
                break
            }
        }
        return try decode(bytes, source: path)
    }

    /// Validates and decodes a whole snapshot held in memory (a transfer's assembled chunks).
    public static func decode(_ bytes: [UInt8], source: String = "snapshot") throws(SnapshotFileError) -> (header: Header, stateMachine: KeyValueStateMachine) {
        guard bytes.count >= magic.count + 4 + endMagic.count + 4 else { throw .corrupt("\(source) is truncated (\(bytes.count) bytes)") }
        guard Array(bytes[0..<magic.count]) == magic else { throw .corrupt("\(source) is not a Flotilla snapshot (bad magic)") }
        var reader = ByteReader(bytes, position: magic.count)
        let version: UInt32
        do {
            version = try reader.readUInt32()
            guard readableVersions.contains(version) else {
                throw SnapshotFileError.unsupportedVersion("\(source) has snapshot format version \(version); this build reads versions \(readableVersions.lowerBound) to \(readableVersions.upperBound)")
            }
        } catch let error as SnapshotFileError {
            throw error
        } catch {
            throw .corrupt("\(source) is truncated")
        }
        let body = bytes.count - 4
        var trailer = ByteReader(bytes, position: body)
        let stored = (try? trailer.readUInt32()) ?? 0
        var crc = CRC32C()
        bytes.withUnsafeBytes { crc.update(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        guard crc.checksum == stored else { throw .corrupt("\(source) fails its checksum (truncated or corrupt)") }
        guard Array(bytes[(body - endMagic.count)..<body]) == endMagic else { throw .corrupt("\(source) is truncated (no end marker)") }
        do {
            let clusterID = try reader.readUInt64()
            let shard = ShardID(try reader.readUInt64())
            let shardCount = try reader.readUInt64()
            let metadata = try RaftWireFormat.decodeSnapshotMetadata(from: &reader)
            let count = try reader.readUInt64()
            var values: [[UInt8]: [UInt8]] = [:]
            // Each record takes at least 8 bytes (two lengths), so the bytes left bound the
            // room worth reserving; the count itself is only a claim.
            values.reserveCapacity(Int(min(count, UInt64(reader.remaining / 8))))
            for _ in 0..<count {
                let key = try reader.readBlob()
                values[key] = try reader.readBlob()
            }
            var expiries: [[UInt8]: UInt64] = [:]
            if version >= 2 {
                let expiryCount = try reader.readUInt64()
                guard expiryCount <= count else { throw SnapshotFileError.corrupt("\(source) has more expiries than keys") }
                for _ in 0..<expiryCount {
                    let key = try reader.readBlob()
                    guard values[key] != nil else { throw SnapshotFileError.corrupt("\(source) has an expiry for a missing key") }
                    expiries[key] = try reader.readUInt64()
                }
            }
            guard reader.position == body - endMagic.count else { throw SnapshotFileError.corrupt("\(source) has trailing bytes") }
            return (Header(clusterID: clusterID, shard: shard, shardCount: shardCount, metadata: metadata), KeyValueStateMachine(values: values, expiries: expiries))
        } catch let error as SnapshotFileError {
            throw error
        } catch {
            throw .corrupt("\(source) is malformed: \(error)")
        }
    }

    static func syncDirectory(of path: String) {
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}

/// Why a snapshot file could not be written or read.
public enum SnapshotFileError: Error, Sendable, Equatable, CustomStringConvertible {
    case io(String)
    case corrupt(String)
    case unsupportedVersion(String)

    public var description: String {
        switch self {
        case .io(let detail), .corrupt(let detail), .unsupportedVersion(let detail): return detail
        }
    }
}
