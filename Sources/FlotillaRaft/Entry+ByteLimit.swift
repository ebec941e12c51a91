extension Collection where Element == Entry {
    /// The leading entries whose sizes fit in `bytesMax` on top of `bytesAlready` (what the
    /// message holds so far), but at least one when it holds nothing yet, so that an entry
    /// larger than the limit still travels, alone. The one rule behind every byte-limited read
    /// of a log.
    public func prefix(bytesMax: Int, bytesAlready: Int = 0) -> [Entry] {
        var result: [Entry] = []
        var bytes = bytesAlready
        for entry in self {
            if (bytesAlready > 0 || !result.isEmpty) && bytes + entry.sizeBytes > bytesMax { break }
            bytes += entry.sizeBytes
            result.append(entry)
        }
        return result
    }
}
