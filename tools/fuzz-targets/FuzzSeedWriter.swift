#if canImport(Glibc)
import Glibc
#endif

/// Writes a target's seed corpus when `FLOTILLA_FUZZ_WRITE_SEEDS` names a directory, then ends
/// the process. The seeds come from the real encoders linked into the same binary, so the corpus
/// in testdata/fuzz follows the format when it changes (`tools/fuzz --write-seeds`).
enum FuzzSeedWriter {
    static func writeIfAsked(_ seeds: [(name: String, bytes: [UInt8])]) {
        guard let directory = getenv("FLOTILLA_FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) else { return }
        for seed in seeds {
            let path = directory + "/" + seed.name
            guard let file = fopen(path, "wb") else { fatalError("cannot create \(path)") }
            let written = seed.bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
            guard written == seed.bytes.count else { fatalError("cannot write \(path)") }
        }
        print("wrote \(seeds.count) seeds to \(directory)")
        exit(0)
    }

    /// The little-endian bytes of `value`, for hand-made edge cases.
    static func littleEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}

/// Stops the fuzzer with a message when a property of decoded input does not hold; libFuzzer
/// reports the trap as a crash and keeps the input.
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("property failed: \(message())") }
}
