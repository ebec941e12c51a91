/// Serves requests other hosts relay to this one (opaque bytes in, opaque bytes out).
///
/// A callback, not an `async` function: a relayed request costs no `Task`. The transport
/// calls it on the connection's event loop; the answer may come from any thread, and the
/// transport writes answers back in batches.
public protocol ForwardRequestHandler: AnyObject, Sendable {
    /// Calls `completion` exactly once, from any thread.
    func handleForward(_ payload: [UInt8], completion: @escaping @Sendable ([UInt8]) -> Void)
}

/// A forward handler written as an `async` closure (tests, tools): one `Task` per request.
final class ClosureForwardHandler: ForwardRequestHandler {
    let body: @Sendable ([UInt8]) async -> [UInt8]
    init(body: @escaping @Sendable ([UInt8]) async -> [UInt8]) { self.body = body }
    func handleForward(_ payload: [UInt8], completion: @escaping @Sendable ([UInt8]) -> Void) {
        let body = self.body
        Task { completion(await body(payload)) }
    }
}
