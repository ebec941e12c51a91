/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3): the hash SPEC fixes for
/// placing keys in shards, and the base of `ScanOrder`.
public func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return hash
}
