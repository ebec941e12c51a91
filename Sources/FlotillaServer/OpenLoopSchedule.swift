/// When one connection sends its requests under `flotilla bench --rate`.
///
/// The run's requests are numbered 0, 1, 2... and due `number / rate` seconds after the start,
/// dealt to the connections in turn (connection `k` of `C` sends numbers `k`, `k + C`, ...), so
/// the whole load is evenly spaced however many connections carry it. A request is sent at its
/// time whatever the answers to earlier ones, and its latency is counted from that time, not
/// from when it actually left: a server that stalls makes every request scheduled during the
/// stall wait too, and all of that wait is measured. Closed-loop load hides it (the client
/// stops sending, the "coordinated omission" of latency measurements).
struct OpenLoopSchedule: Sendable {
    let connectionIndex: Int
    let connectionCount: Int
    let ratePerSecond: Double
    let startNanoseconds: UInt64
    /// No request is due at or after this time (`--duration`).
    let endNanoseconds: UInt64?
    /// How many requests this connection sends in all (its share of `--ops`).
    let limit: Int?
    private(set) var sent = 0
    private var stopped = false

    init(connectionIndex: Int, connectionCount: Int, ratePerSecond: Double, startNanoseconds: UInt64,
         endNanoseconds: UInt64?, totalOperations: Int?) {
        precondition(connectionCount > 0 && connectionIndex >= 0 && connectionIndex < connectionCount && ratePerSecond > 0)
        self.connectionIndex = connectionIndex
        self.connectionCount = connectionCount
        self.ratePerSecond = ratePerSecond
        self.startNanoseconds = startNanoseconds
        self.endNanoseconds = endNanoseconds
        limit = totalOperations.map { total in
            total > connectionIndex ? (total - connectionIndex + connectionCount - 1) / connectionCount : 0
        }
    }

    /// The scheduled send time of this connection's next request, or nil when it has sent its share.
    var nextDueNanoseconds: UInt64? {
        if stopped { return nil }
        if let limit, sent >= limit { return nil }
        let number = Double(connectionIndex) + Double(sent) * Double(connectionCount)
        let due = startNanoseconds + UInt64((number / ratePerSecond * 1e9).rounded())
        if let endNanoseconds, due >= endNanoseconds { return nil }
        return due
    }

    var isFinished: Bool { nextDueNanoseconds == nil }

    /// The request due at `nextDueNanoseconds` was sent.
    mutating func advance() { sent += 1 }

    /// The connection is gone: nothing more is due on it.
    mutating func stop() { stopped = true }
}
