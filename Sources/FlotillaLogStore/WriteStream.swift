/// A caller's sequence of writes that must become durable in the order submitted, with no gap.
///
/// A Raft step worker submits round after round without waiting for each to be durable, and
/// each round's entries follow the previous round's. If one round is refused for a reason that
/// passes (a full disk or map, a full queue) while the next is accepted, the log would have a
/// hole. So once a write of a stream is refused, every later write of that stream is refused
/// too, queued or submitted, until its owner has seen every outcome and calls
/// `LogStore.resumeWrites(_:)`; it then resubmits the refused rounds in order. Writes without
/// a stream are never held back by another's refusal.
public struct WriteStream: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int

    public init(_ rawValue: Int) { self.rawValue = rawValue }

    public var description: String { "write stream \(rawValue)" }
}
