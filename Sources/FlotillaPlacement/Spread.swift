/// How evenly something is spread over hosts: the least, the most, the mean and the standard
/// deviation of the per-host counts. The placement model reports replicas and leaders so.
public struct Spread: Sendable, Equatable, CustomStringConvertible {
    public var minimum: Int
    public var maximum: Int
    public var mean: Double
    public var standardDeviation: Double

    public init(counts: [Int]) {
        minimum = counts.min() ?? 0
        maximum = counts.max() ?? 0
        mean = counts.isEmpty ? 0 : Double(counts.reduce(0, +)) / Double(counts.count)
        let mean = self.mean
        let squares = counts.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
        standardDeviation = counts.isEmpty ? 0 : (squares / Double(counts.count)).squareRoot()
    }

    /// The widest departure from the mean, as a fraction of it (0.1: every host within ±10%).
    public var relativeDeviationMax: Double {
        guard mean > 0 else { return 0 }
        return max(mean - Double(minimum), Double(maximum) - mean) / mean
    }

    public var description: String {
        func rounded(_ value: Double) -> String { String(Double((value * 100).rounded()) / 100) }
        return "min=\(minimum) max=\(maximum) mean=\(rounded(mean)) stddev=\(rounded(standardDeviation)) worst=±\(rounded(relativeDeviationMax * 100))%"
    }
}
