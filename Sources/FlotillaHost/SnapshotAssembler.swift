import FlotillaRaft
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Receives snapshot chunks into files under `directory`, checking each chunk's checksum and
/// sequence. A bad chunk aborts its transfer (the sender is told and retries); a complete
/// transfer yields a file that the receiver still validates as a whole before using it.
public final class SnapshotAssembler: Sendable {
    public enum Outcome: Sendable, Equatable {
        case accepted
        case complete(message: Message, file: String)
        case rejected(String)
    }

    struct Transfer {
        var file: String
        var descriptor: Int32
        var nextSequence: UInt32
        var bytes: Int
        var message: Message
    }

    let directory: String
    let transfersMax: Int
    let transferBytesMax: Int
    private let transfers = Mutex<[UInt64: Transfer]>([:])

    public init(directory: String, transfersMax: Int = 8, transferBytesMax: Int = 64 << 30) {
        self.directory = directory
        self.transfersMax = transfersMax
        self.transferBytesMax = transferBytesMax
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    public func receive(_ chunk: SnapshotChunk) -> Outcome {
        transfers.withLock { transfers in
            guard CRC32C.checksum(chunk.data) == chunk.checksum else {
                abort(chunk.transferID, &transfers)
                return .rejected("chunk \(chunk.sequence) of transfer \(chunk.transferID) fails its checksum")
            }
            var transfer: Transfer
            if chunk.sequence == 0 {
                abort(chunk.transferID, &transfers)
                guard let message = chunk.message else { return .rejected("first chunk without its message") }
                guard transfers.count < transfersMax else { return .rejected("too many snapshot transfers in progress") }
                let file = "\(directory)/incoming-\(chunk.shard)-\(chunk.from)-\(chunk.transferID).flsnap"
                try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                guard descriptor >= 0 else { return .rejected("cannot create \(file)") }
                transfer = Transfer(file: file, descriptor: descriptor, nextSequence: 0, bytes: 0, message: message)
            } else {
                guard let existing = transfers[chunk.transferID] else { return .rejected("chunk \(chunk.sequence) of unknown transfer \(chunk.transferID)") }
                transfer = existing
            }
            guard chunk.sequence == transfer.nextSequence else {
                abort(chunk.transferID, &transfers)
                return .rejected("chunk \(chunk.sequence) out of order (expected \(transfer.nextSequence))")
            }
            guard transfer.bytes + chunk.data.count <= transferBytesMax else {
                abort(chunk.transferID, &transfers)
                return .rejected("snapshot transfer over \(transferBytesMax) bytes")
            }
            let written = chunk.data.withUnsafeBytes { write(transfer.descriptor, $0.baseAddress, $0.count) }
            guard written == chunk.data.count else {
                transfers[chunk.transferID] = transfer
                abort(chunk.transferID, &transfers)
                return .rejected("writing snapshot chunk failed")
            }
            transfer.bytes += chunk.data.count
            transfer.nextSequence += 1
            if chunk.isLast {
                fsync(transfer.descriptor)
                close(transfer.descriptor)
                transfers[chunk.transferID] = nil
                return .complete(message: transfer.message, file: transfer.file)
            }
            transfers[chunk.transferID] = transfer
            return .accepted
        }
    }

    private func abort(_ transferID: UInt64, _ transfers: inout [UInt64: Transfer]) {
        guard let transfer = transfers.removeValue(forKey: transferID) else { return }
        close(transfer.descriptor)
        unlink(transfer.file)
    }

    /// Cuts a snapshot file into chunks for sending.
    public static func chunks(of file: String, message: ShardMessage, transferID: UInt64,
                              chunkBytes: Int = SnapshotChunk.chunkBytesMax) throws(SnapshotFileError) -> [SnapshotChunk] {
        guard let handle = fopen(file, "rb") else { throw .io("cannot open \(file)") }
        defer { fclose(handle) }
        var chunks: [SnapshotChunk] = []
        var buffer = [UInt8](repeating: 0, count: chunkBytes)
        var sequence: UInt32 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
            let isLast = count < chunkBytes
            chunks.append(SnapshotChunk(shard: message.shard, from: message.message.from, to: message.message.to,
                                        transferID: transferID, sequence: sequence, isLast: isLast,
                                        message: sequence == 0 ? message.message : nil, data: Array(buffer[0..<count])))
            sequence += 1
            if isLast { break }
        }
        return chunks
    }
}
