/// Which step worker of a host submitted a write. A store keeps each worker's writes in order
/// and with no gap: once one of a worker's writes is refused (a full disk or map), its later
/// writes are refused too until the worker resumes them (`HostLogStore.resumeWrites`).
public struct StepWorkerID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int

    public init(_ rawValue: Int) { self.rawValue = rawValue }

    public var description: String { "step worker \(rawValue)" }
}
