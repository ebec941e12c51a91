/// A benchmark that cannot run (bad arguments, an I/O failure of the probe file).
struct BenchmarkError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
