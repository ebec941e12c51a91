import FlotillaEventLoop

/// The line protocol as a `ConnectionSession`: one request per line (`LineFramer`,
/// `RequestParser`), one answer line per request (`ResponseRenderer`), carried out by the
/// engine's `ClientRequestHandler`.
struct LineSession: ConnectionSession {
    let handler: any ClientRequestHandler
    private var framer = LineFramer()

    init(handler: any ClientRequestHandler) {
        self.handler = handler
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [SessionEvent<ClientRequest>] {
        framer.feed(bytes).map { event in
            switch event {
            case .tooLarge:
                return .answerAndClose(ResponseRenderer.render(.error(.tooLarge,
                    "request line over \(LineProtocolLimits.lineBytesMax) bytes; closing the connection")))
            case .line(let line):
                switch RequestParser.parse(line) {
                case .failure(let refusal): return .answer(ResponseRenderer.render(.error(refusal.code, refusal.message)))
                case .success(let request): return .request(request)
                }
            }
        }
    }

    func orderingKeys(of request: ClientRequest) -> [RequestOrderingKey] {
        RequestOrderingKey(request).map { [$0] } ?? []
    }

    func start(_ request: ClientRequest, completion: @escaping @Sendable ([UInt8]) -> Void) {
        handler.handle(request) { completion(ResponseRenderer.render($0)) }
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
