import ArgumentParser

/// Where the benchmark's hosts keep their logs: the real LMDB store, or memory (to see the cost
/// of everything but the disk).
enum HostBenchmarkStore: String, ExpressibleByArgument, CaseIterable {
    case lmdb
    case memory
}
