import FlotillaRaft

extension WriteBatch {
    /// Checks what can be checked without reading the store, in the caller's thread, so that a
    /// malformed batch never reaches the writer.
    func validateShape(batchBytesMax: Int) throws {
        let size = sizeBytes
        guard size <= batchBytesMax else {
            throw LogStoreError.batchTooLarge(sizeBytes: size, sizeBytesMax: batchBytesMax)
        }
        var seen = Set<[UInt64]>()
        seen.reserveCapacity(updates.count)
        for update in updates {
            guard seen.insert([update.shard.rawValue, update.replica.rawValue]).inserted else {
                throw LogStoreError.invalidBatch("shard \(update.shard) replica \(update.replica) appears twice in one batch")
            }
            guard let first = update.entries.first else { continue }
            guard first.index > .zero else {
                throw LogStoreError.invalidBatch("shard \(update.shard) replica \(update.replica): entry index 0 is the empty prefix")
            }
            var previous = first
            for entry in update.entries.dropFirst() {
                guard previous.index.rawValue < UInt64.max, entry.index == previous.index.next else {
                    throw LogStoreError.invalidBatch("shard \(update.shard) replica \(update.replica): entry \(entry.index) does not follow \(previous.index)")
                }
                guard entry.term >= previous.term else {
                    throw LogStoreError.invalidBatch("shard \(update.shard) replica \(update.replica): entry \(entry.index) has term \(entry.term) below the term \(previous.term) before it")
                }
                previous = entry
            }
        }
    }
}
