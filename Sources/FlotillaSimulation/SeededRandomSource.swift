import FlotillaRaft

/// The simulator's randomness: one seeded stream, so that a run replays exactly from its seed.
struct SeededRandomSource {
    var generator: SeededRandom

    init(seed: UInt64) { generator = SeededRandom(seed: seed) }

    mutating func below(_ bound: UInt64) -> UInt64 {
        bound <= 1 ? 0 : generator.next() % bound
    }

    mutating func chance(_ probability: Double) -> Bool {
        if probability <= 0 { return false }
        return Double(generator.next() >> 11) / Double(1 << 53) < probability
    }

    mutating func pick<T>(_ items: [T]) -> T? {
        items.isEmpty ? nil : items[Int(below(UInt64(items.count)))]
    }
}
