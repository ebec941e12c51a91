import Synchronization

/// Gathers the answers of the engine requests one Redis command was split into (`MGET`,
/// `MSET`, `DEL`, `EXISTS` by key, `DBSIZE` by shard), which arrive from any thread in any
/// order, and hands them over in request order once the last is in.
final class ResponseFanIn: Sendable {
    private let state: Mutex<(responses: [ClientResponse?], remaining: Int)>
    private let done: @Sendable ([ClientResponse]) -> Void

    init(count: Int, done: @escaping @Sendable ([ClientResponse]) -> Void) {
        state = Mutex((Array(repeating: nil, count: count), count))
        self.done = done
    }

    func record(_ index: Int, _ response: ClientResponse) {
        let complete = state.withLock { state -> [ClientResponse]? in
            guard state.responses[index] == nil else { return nil }
            state.responses[index] = response
            state.remaining -= 1
            return state.remaining == 0 ? state.responses.map { $0! } : nil
        }
        if let complete { done(complete) }
    }
}
