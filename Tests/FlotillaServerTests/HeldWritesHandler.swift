import FlotillaServer
import Synchronization

/// A `StateMachineHandler` whose writes wait until the test releases them (in any order it
/// likes), while reads are answered at once: the way a test sees what a connection runs
/// concurrently and what it orders.
final class HeldWritesHandler: ClientRequestHandler {
    let inner = StateMachineHandler()
    private let held = Mutex<[(request: ClientRequest, completion: @Sendable (ClientResponse) -> Void)]>([])

    func handle(_ request: ClientRequest, completion: @escaping @Sendable (ClientResponse) -> Void) {
        if request.command != nil {
            held.withLock { $0.append((request, completion)) }
        } else {
            completion(inner.respond(to: request))
        }
    }

    var heldCount: Int { held.withLock { $0.count } }

    /// Carries out the held writes, last first when `reversed`.
    func release(reversed: Bool = false) {
        let writes = held.withLock { writes in
            defer { writes = [] }
            return writes
        }
        for write in reversed ? writes.reversed() : writes {
            write.completion(inner.respond(to: write.request))
        }
    }
}
