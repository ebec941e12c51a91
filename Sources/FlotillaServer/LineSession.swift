import FlotillaEventLoop

/// The line protocol as a `ConnectionSession`: one request per line (`LineFramer`,
/// `RequestParser`), one answer line per request (`ResponseRenderer`), carried out by the
/// engine's `ClientRequestHandler`. With `HINTS ON` the connection's later answers carry
/// the leader hint (`LeaderHint`) when this host does not lead the key's shard.
struct LineSession: ConnectionSession {
    let handler: any ClientRequestHandler
    private var framer = LineFramer()
    /// Whether the lines read from now on ask for leader hints (`HINTS ON`).
    private var hinting = false

    init(handler: any ClientRequestHandler) {
        self.handler = handler
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [SessionEvent<LineRequest>] {
        framer.feed(bytes).map { event in
            switch event {
            case .tooLarge:
                return .answerAndClose(ResponseRenderer.render(.error(.tooLarge,
                    "request line over \(LineProtocolLimits.lineBytesMax) bytes; closing the connection")))
            case .line(let line):
                switch LineSessionCommand.parse(line) {
                case .success(.hints(let on)):
                    hinting = on
                    return .answer(ResponseRenderer.render(.ok))
                case .failure(let refusal):
                    return .answer(ResponseRenderer.render(.error(refusal.code, refusal.message)))
                case nil:
                    break
                }
                switch RequestParser.parse(line) {
                case .failure(let refusal): return .answer(ResponseRenderer.render(.error(refusal.code, refusal.message)))
                case .success(let request): return .request(LineRequest(request: request, hinted: hinting))
                }
            }
        }
    }

    func orderingKeys(of request: LineRequest) -> [RequestOrderingKey] {
        RequestOrderingKey(request.request).map { [$0] } ?? []
    }

    /// A hinted request's hint is decided as it starts, on the connection's loop: whether
    /// this host leads the shard then is what decided whether it was relayed.
    func start(_ request: LineRequest, completion: @escaping @Sendable ([UInt8]) -> Void) {
        guard request.hinted, let leader = handler.leaderHint(for: request.request) else {
            return handler.handle(request.request) { completion(ResponseRenderer.render($0)) }
        }
        handler.handle(request.request) { completion(LeaderHint.render(leader: leader, answer: ResponseRenderer.render($0))) }
    }

    func refusal(_ code: ClientErrorCode, _ message: String) -> [UInt8] {
        ResponseRenderer.render(.error(code, message))
    }
}

/// The line protocol's connection handler.
typealias LineProtocolHandler = PipelinedConnectionHandler<LineSession>

extension PipelinedConnectionHandler where Session == LineSession {
    convenience init(handler: any ClientRequestHandler, inflightRequestsMax: Int, serverInflight: ServerInflight, mailbox: EventLoopMailbox) {
        self.init(session: LineSession(handler: handler), inflightRequestsMax: inflightRequestsMax,
                  serverInflight: serverInflight, mailbox: mailbox)
    }
}
