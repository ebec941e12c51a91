/// An invariant the host simulator found broken: the seed replays it.
public struct HostSimulationFailure: Error, Sendable, CustomStringConvertible {
    public var seed: UInt64
    /// Simulated milliseconds since the run began.
    public var timeMilliseconds: UInt64
    public var invariant: String
    public var detail: String

    public var description: String {
        "seed \(seed) at \(timeMilliseconds) ms: \(invariant): \(detail)"
    }
}
