#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A deterministic crash for the tests of crash safety (`--fault-point NAME:FILE`, hidden):
/// the first host of a machine to reach the point named `NAME` creates `FILE` and kills itself
/// with SIGKILL on the spot, exactly as a power cut there would; every later arrival (any host
/// given the same file, or this one restarted) finds the file and carries on. So a test can
/// kill whichever host happens to drive the replica moves between any two of a move's steps,
/// once, without racing a poll against the step.
///
/// The points (`ReplicaMover`): `move-recorded-adding` (the map says adding, nothing done yet),
/// `move-observer-added`, `move-promoted`, `move-leadership-handed-over`, `move-replica-removed`
/// (each: that step taken, the next not yet recorded).
public struct FaultPoint: Sendable, Equatable {
    public let name: String
    public let markerPath: String

    public static let names = ["move-recorded-adding", "move-observer-added", "move-promoted", "move-leadership-handed-over",
                               "move-replica-removed"]

    /// From `NAME:FILE`; nil when it is not that or the name is not a known point.
    public init?(argument: String) {
        guard let colon = argument.firstIndex(of: ":") else { return nil }
        let name = String(argument[..<colon])
        let path = String(argument[argument.index(after: colon)...])
        guard Self.names.contains(name), !path.isEmpty else { return nil }
        self.name = name
        self.markerPath = path
    }

    /// Kills this process when `point` is this fault's and no host reached it before.
    func reach(_ point: String) {
        guard point == name else { return }
        let descriptor = open(markerPath, O_CREAT | O_EXCL | O_WRONLY, 0o644)
        guard descriptor >= 0 else { return }
        close(descriptor)
        let message = Array("flotilla: fault point \(point) reached: killing this host (SIGKILL)\n".utf8)
        _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        kill(getpid(), SIGKILL)
    }
}
