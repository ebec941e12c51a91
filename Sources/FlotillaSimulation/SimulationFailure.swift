/// An invariant the simulator saw broken, with the seed and step that reproduce it.
public struct SimulationFailure: Error, CustomStringConvertible, Sendable {
    public var seed: UInt64
    public var step: Int
    public var invariant: String
    public var detail: String

    public var description: String {
        "seed \(seed) step \(step): \(invariant) violated: \(detail)"
    }
}
