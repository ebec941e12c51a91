import FlotillaHost
import Logging

/// Turns the host's events into swift-log lines, keeping `shard`, `term` and `peer` as metadata
/// (so a log shipper can index them) rather than in the message.
struct HostEventLogger: Sendable {
    let logger: Logger

    func log(_ event: HostEvent) {
        let level = Self.level(event.level)
        // The level check first: an event below the threshold costs no metadata dictionary.
        guard logger.logLevel <= level else { return }
        var metadata: Logger.Metadata = [:]
        if let shard = event.shard { metadata["shard"] = "\(shard)" }
        if let term = event.term { metadata["term"] = "\(term)" }
        if let peer = event.peer { metadata["peer"] = "\(peer)" }
        logger.log(level: level, "\(event.message)", metadata: metadata)
    }

    static func level(_ level: HostEvent.Level) -> Logger.Level {
        switch level {
        case .trace: return .trace
        case .debug: return .debug
        case .info: return .info
        case .notice: return .notice
        case .warning: return .warning
        case .error: return .error
        }
    }
}
