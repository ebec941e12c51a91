import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The disk's own limit: how many 4 KiB write + fdatasync pairs it does per second. Measured
/// twice: overwriting a preallocated file (only the data block changes, the best case, and what
/// LMDB does once it reuses pages) and appending (the file size changes every time, so the file
/// system also journals its metadata).
enum RawSyncBenchmark {
    struct Result {
        let overwritesPerSecond: Double
        let appendsPerSecond: Double
    }

    static func run(directory: String, seconds: Double) throws -> Result {
        let path = directory + "/raw-sync-probe"
        defer { unlink(path) }
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BenchmarkError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let block = [UInt8](repeating: 0xA5, count: 4096)
        let blocks = 256
        for position in 0..<blocks { try write(descriptor, block, at: position * 4096) }
        guard fsync(descriptor) == 0 else { throw BenchmarkError("fsync failed: \(String(cString: strerror(errno)))") }

        let overwrites = try measure(seconds: seconds) { count in
            try write(descriptor, block, at: (count % blocks) * 4096)
        } sync: { fdatasync(descriptor) }
        guard ftruncate(descriptor, 0) == 0, fsync(descriptor) == 0 else { throw BenchmarkError("truncate failed") }
        let appends = try measure(seconds: seconds) { count in
            try write(descriptor, block, at: count * 4096)
        } sync: { fdatasync(descriptor) }
        return Result(overwritesPerSecond: overwrites, appendsPerSecond: appends)
    }

    private static func measure(seconds: Double, write: (Int) throws -> Void, sync: () -> Int32) throws -> Double {
        let start = Clock.now()
        var count = 0
        while Clock.now() - start < seconds {
            try write(count)
            guard sync() == 0 else { throw BenchmarkError("fdatasync failed: \(String(cString: strerror(errno)))") }
            count += 1
        }
        return Double(count) / (Clock.now() - start)
    }

    private static func write(_ descriptor: Int32, _ block: [UInt8], at offset: Int) throws {
        let written = block.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == block.count else { throw BenchmarkError("pwrite failed: \(String(cString: strerror(errno)))") }
    }
}
