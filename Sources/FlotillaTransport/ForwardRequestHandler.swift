/// Serves requests other hosts relay to this one (opaque bytes in, opaque bytes out).
public protocol ForwardRequestHandler: AnyObject, Sendable {
    func handleForward(_ payload: [UInt8]) async -> [UInt8]
}

final class ClosureForwardHandler: ForwardRequestHandler {
    let body: @Sendable ([UInt8]) async -> [UInt8]
    init(body: @escaping @Sendable ([UInt8]) async -> [UInt8]) { self.body = body }
    func handleForward(_ payload: [UInt8]) async -> [UInt8] { await body(payload) }
}
