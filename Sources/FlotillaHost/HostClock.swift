/// The host's monotonic clock, in milliseconds since the host started: what request deadlines
/// and replica seeds are measured against. Injected so that a simulator can run the real step
/// loop on simulated time (`MonotonicHostClock` in production). The wall clock that stamps
/// entries is separate (`NodeHostConfiguration.wallClockMilliseconds`).
package protocol HostClock: Sendable {
    /// Milliseconds since the host started; never goes back.
    var nowMilliseconds: UInt64 { get }
}
