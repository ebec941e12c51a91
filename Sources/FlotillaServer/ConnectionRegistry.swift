import NIOCore
import Synchronization

/// The open client connections of a server, so that a graceful shutdown can reach each one.
final class ConnectionRegistry: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// Tracks `channel` until it closes.
    func add(_ channel: any Channel) {
        let identifier = ObjectIdentifier(channel)
        channels.withLock { $0[identifier] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            _ = channels.withLock { $0.removeValue(forKey: identifier) }
        }
    }

    var all: [any Channel] { channels.withLock { Array($0.values) } }

    var count: Int { channels.withLock { $0.count } }
}
