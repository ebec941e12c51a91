#if canImport(Glibc)
import Glibc
#endif

/// Runs a body with the process's address space capped a little above what it maps now. A
/// decoder that reserves room for a count it was only told about then fails at once (the
/// allocation fails and Swift stops the process, which fails the run) instead of passing
/// quietly on a machine with memory to spare. Only the soft limit moves, and it is put back.
enum AddressSpaceLimit {
    static func withHeadroom<Result>(bytes headroomBytes: Int, _ body: () throws -> Result) rethrows -> Result {
        let resource = __rlimit_resource_t(RLIMIT_AS.rawValue)
        var previous = rlimit()
        guard getrlimit(resource, &previous) == 0, let mappedBytes = mappedBytes() else { return try body() }
        var limited = previous
        limited.rlim_cur = min(rlim_t(mappedBytes + headroomBytes), previous.rlim_max)
        setrlimit(resource, &limited)
        defer { setrlimit(resource, &previous) }
        return try body()
    }

    /// The process's virtual size: the first field of /proc/self/statm, in pages.
    static func mappedBytes() -> Int? {
        let descriptor = open("/proc/self/statm", O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0, let pages = Int(String(decoding: buffer[..<count].prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)) else {
            return nil
        }
        return pages * sysconf(Int32(_SC_PAGESIZE))
    }
}
