/// What one client protocol (the line protocol, RESP2) contributes to a pipelined connection:
/// cutting bytes into requests, the keys that order them, carrying each out, and the bytes
/// of its answer. Everything else (answers in order, back-pressure, draining, closing) is the
/// `PipelinedConnectionHandler`'s, the same for every protocol.
///
/// A session lives on its connection's event loop; `start` is called there, and may change
/// the session's own state (a client name), but the answer may come from any thread.
protocol ConnectionSession {
    associatedtype Request

    /// Frames and parses the bytes read, in order.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [SessionEvent<Request>]

    /// The keys a request is ordered by: requests sharing a key run one after another in the
    /// order sent; the rest run concurrently (their answers are still written in order).
    func orderingKeys(of request: Request) -> [RequestOrderingKey]

    /// Carries out a request; calls `completion` exactly once, from any thread, possibly
    /// before returning.
    mutating func start(_ request: Request, completion: @escaping @Sendable ([UInt8]) -> Void)

    /// The answer to a request refused before it started (`BUSY`, `SHUTTING_DOWN`).
    func refusal(_ code: ClientErrorCode, _ message: String) -> [UInt8]

    /// Whether a request reads the whole keyspace (`SCAN`, `DBSIZE`): it then starts once
    /// every earlier request of the connection is answered, and later ones wait for it, so a
    /// pipelined `SET` then `DBSIZE` counts the key as a single Redis would.
    func isBarrier(_ request: Request) -> Bool

    /// How many of the server's in-flight slots a request takes: one per engine request it is
    /// carried out as (an `MGET` of 100 keys takes 100), so a few multi-key commands cannot
    /// put more work in the engine than the limit allows.
    func slots(for request: Request) -> Int
}

extension ConnectionSession {
    func isBarrier(_ request: Request) -> Bool { false }
    func slots(for request: Request) -> Int { 1 }
}

/// One thing a session found in the bytes.
enum SessionEvent<Request> {
    case request(Request)
    /// An answer of its own (a malformed request), in order with the rest.
    case answer([UInt8])
    /// An answer after which the connection closes (a request over the size limit, Redis
    /// `QUIT`): nothing after it is read.
    case answerAndClose([UInt8])
}

/// Sent through a connection's pipeline by a draining server: finish what is in flight, then
/// close.
struct CloseWhenIdle: Sendable {}
