import FlotillaRaft

/// The host simulator's randomness: one seeded stream, so that a run replays exactly from its
/// seed.
struct SimulationRandom {
    var generator: SeededRandom

    init(seed: UInt64) { generator = SeededRandom(seed: seed) }

    mutating func below(_ bound: UInt64) -> UInt64 {
        bound <= 1 ? 0 : generator.next() % bound
    }

    /// A number in `range`, both ends included.
    mutating func between(_ low: UInt64, _ high: UInt64) -> UInt64 {
        high <= low ? low : low + below(high - low + 1)
    }

    mutating func chance(_ probability: Double) -> Bool {
        if probability <= 0 { return false }
        return Double(generator.next() >> 11) / Double(1 << 53) < probability
    }

    mutating func pick<T>(_ items: [T]) -> T? {
        items.isEmpty ? nil : items[Int(below(UInt64(items.count)))]
    }

    mutating func shuffled<T>(_ items: [T]) -> [T] {
        var result = items
        guard result.count > 1 else { return result }
        for position in stride(from: result.count - 1, to: 0, by: -1) {
            result.swapAt(position, Int(below(UInt64(position + 1))))
        }
        return result
    }
}
