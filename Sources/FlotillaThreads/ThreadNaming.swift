#if canImport(Glibc)
import Glibc
#endif

/// Names the calling thread for the kernel (`perf --sort comm`, `top -H`): Foundation's
/// `Thread.name` does not reach it on Linux. At most 15 bytes are kept.
public func nameCurrentThread(_ name: String) {
    let descriptor = open("/proc/thread-self/comm", O_WRONLY)
    guard descriptor >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
}
