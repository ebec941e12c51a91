#if canImport(Glibc)
import Glibc
#endif

/// Production's `HostClock`: CLOCK_MONOTONIC, counted from the clock's creation (the host's start).
package struct MonotonicHostClock: HostClock {
    private let startNanoseconds: UInt64

    package init() { startNanoseconds = Self.monotonicNanoseconds() }

    package var nowMilliseconds: UInt64 { (Self.monotonicNanoseconds() - startNanoseconds) / 1_000_000 }

    static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
