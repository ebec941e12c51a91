import FlotillaHost

/// RESP2 as a `ConnectionSession`: Redis commands carried out by the same engine as the line
/// protocol (same routing, limits, durability and linearizable reads), each as one or more
/// engine requests. A multi-key command is split by key, its parts run concurrently (on
/// their shards' leaders), and its answer is assembled in key order; it is not atomic across
/// keys. `DBSIZE` and `SCAN` ask shards; the connection's own commands (`PING`, `CLIENT`,
/// `SELECT`, ...) are answered here.
struct RedisSession: ConnectionSession {
    typealias Request = RedisCommand
    typealias Answer = @Sendable ([UInt8]) -> Void

    let handler: any ClientRequestHandler
    let clientID: Int64
    private var clientName: [UInt8]?
    private var parser = RESPParser()

    init(handler: any ClientRequestHandler, clientID: Int64) {
        self.handler = handler
        self.clientID = clientID
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [SessionEvent<RedisCommand>] {
        parser.feed(bytes).map { event in
            switch event {
            case .protocolError(let message):
                return .answerAndClose(RESPValue.error("ERR \(message)").bytes)
            case .tooLarge(let message):
                return .answerAndClose(RESPValue.error("TOOLARGE \(message); closing the connection").bytes)
            case .command(let arguments):
                if let name = arguments.first, name.count == 4, String(decoding: name, as: UTF8.self).lowercased() == "quit" {
                    return .answerAndClose(RESPValue.ok.bytes)
                }
                switch RedisCommandParser.parse(arguments) {
                case .refused(let reply): return .answer(reply.bytes)
                case .command(let command): return .request(command)
                }
            }
        }
    }

    func orderingKeys(of command: RedisCommand) -> [RequestOrderingKey] {
        command.keys.map { .key($0) }
    }

    func refusal(_ code: ClientErrorCode, _ message: String) -> [UInt8] {
        RedisReplies.error(code, message).bytes
    }

    func slots(for command: RedisCommand) -> Int { max(1, command.keys.count) }

    func isBarrier(_ command: RedisCommand) -> Bool {
        switch command {
        case .scan, .databaseSize: return true
        default: return false
        }
    }

    mutating func start(_ command: RedisCommand, completion: @escaping Answer) {
        func reply(_ value: RESPValue) { completion(value.bytes) }
        switch command {
        case .ping(let message): reply(message.map(RESPValue.bulk) ?? .simple("PONG"))
        case .echo(let message): reply(.bulk(message))
        case .hello(let version, let name):
            if let version, version != 2 {
                return reply(.error("NOPROTO unsupported protocol version: Flotilla speaks RESP2 only"))
            }
            if let name { clientName = name.isEmpty ? nil : name }
            reply(.array([
                .bulk("server"), .bulk("redis"), .bulk("version"), .bulk(FlotillaVersion.redisCompatible),
                .bulk("proto"), .integer(2), .bulk("id"), .integer(clientID), .bulk("mode"), .bulk("standalone"),
                .bulk("role"), .bulk("master"), .bulk("modules"), .array([]),
            ]))
        case .commandList: reply(RedisCommandTable.all)
        case .commandCount: reply(.integer(Int64(RedisCommandTable.entries.count)))
        case .commandInfo(let names): reply(RedisCommandTable.info(names))
        case .commandDocs: reply(.array([]))
        case .info: reply(.bulk(Self.information))
        case .select(let database):
            reply(database == 0 ? .ok : .error("ERR DB index is out of range (Flotilla has database 0 only)"))
        case .clientSetName(let name):
            clientName = name.isEmpty ? nil : name
            reply(.ok)
        case .clientGetName: reply(clientName.map(RESPValue.bulk) ?? .null)
        case .clientID: reply(.integer(clientID))
        case .clientSetInfo: reply(.ok)
        default:
            Self.carryOut(command, handler: handler, completion: completion)
        }
    }

    /// The commands that need the engine.
    static func carryOut(_ command: RedisCommand, handler: any ClientRequestHandler, completion: @escaping Answer) {
        @Sendable func reply(_ value: RESPValue) { completion(value.bytes) }
        func one(_ request: ClientRequest, _ render: @escaping @Sendable (ClientResponse) -> RESPValue) {
            handler.handle(request) { completion(render($0).bytes) }
        }
        @Sendable func each(_ requests: [ClientRequest], _ render: @escaping @Sendable ([ClientResponse]) -> RESPValue) {
            let fanIn = ResponseFanIn(count: requests.count) { completion(render($0).bytes) }
            for (index, request) in requests.enumerated() {
                handler.handle(request) { fanIn.record(index, $0) }
            }
        }
        switch command {
        case .get(let key):
            one(.get(key: key), RedisReplies.bulkOrNull)
        case .set(let key, let value, let condition, let expiry, let returnsPrevious):
            one(.set(key: key, value: value, condition: condition, expiry: expiry, returnsPrevious: returnsPrevious)) { response in
                guard case .stored(let stored, let previous) = response else { return RedisReplies.unexpected(response) }
                if returnsPrevious { return previous.map(RESPValue.bulk) ?? .null }
                return stored ? .ok : .null
            }
        case .setIfAbsent(let key, let value):
            one(.set(key: key, value: value, condition: .ifAbsent, expiry: .clear, returnsPrevious: false)) { response in
                guard case .stored(let stored, _) = response else { return RedisReplies.unexpected(response) }
                return .integer(stored ? 1 : 0)
            }
        case .getSet(let key, let value):
            one(.set(key: key, value: value, condition: .always, expiry: .clear, returnsPrevious: true)) { response in
                guard case .stored(_, let previous) = response else { return RedisReplies.unexpected(response) }
                return previous.map(RESPValue.bulk) ?? .null
            }
        case .multipleGet(let keys):
            each(keys.map { .get(key: $0) }) { responses in
                RedisReplies.firstError(responses) ?? .array(responses.map(RedisReplies.bulkOrNull))
            }
        case .multipleSet(let pairs):
            // A key given twice takes its last value, as in Redis: the puts run concurrently, so
            // only one is sent per key.
            var lastValue: [[UInt8]: Int] = [:]
            for index in stride(from: 0, to: pairs.count, by: 2) { lastValue[pairs[index]] = index + 1 }
            let requests = stride(from: 0, to: pairs.count, by: 2).compactMap { index -> ClientRequest? in
                lastValue[pairs[index]] == index + 1 ? .put(key: pairs[index], value: pairs[index + 1]) : nil
            }
            each(requests) { responses in
                guard let error = RedisReplies.firstError(responses) else { return .ok }
                guard case .error(let text) = error else { return error }
                let applied = responses.filter { $0 == .ok }.count
                return .error("\(text) (MSET is not atomic: \(applied) of \(responses.count) keys were set)")
            }
        case .delete(let keys):
            each(keys.map { .deleteCounting(key: $0) }) { responses in
                RedisReplies.firstError(responses) ?? .integer(responses.reduce(0) { total, response in
                    if case .integer(let count) = response { return total + count }
                    return total
                })
            }
        case .exists(let keys):
            each(keys.map { .get(key: $0) }) { responses in
                RedisReplies.firstError(responses) ?? .integer(Int64(responses.filter { if case .value = $0 { true } else { false } }.count))
            }
        case .increment(let key, let delta):
            one(.increment(key: key, delta: delta), RedisReplies.integer)
        case .append(let key, let suffix):
            one(.append(key: key, suffix: suffix), RedisReplies.integer)
        case .stringLength(let key):
            one(.get(key: key)) { response in
                switch response {
                case .value(let value): return .integer(Int64(value.count))
                case .notFound: return .integer(0)
                default: return RedisReplies.unexpected(response)
                }
            }
        case .type(let key):
            one(.get(key: key)) { response in
                switch response {
                case .value: return .simple("string")
                case .notFound: return .simple("none")
                default: return RedisReplies.unexpected(response)
                }
            }
        case .expire(let key, let milliseconds):
            one(.expire(key: key, expiry: .after(milliseconds: milliseconds)), RedisReplies.integer)
        case .timeToLive(let key, let inMilliseconds):
            one(.timeToLive(key: key)) { response in
                guard case .integer(let left) = response else { return RedisReplies.unexpected(response) }
                // Redis rounds TTL to the nearest second.
                return .integer(left < 0 || inMilliseconds ? left : (left + 500) / 1_000)
            }
        case .persist(let key):
            one(.persist(key: key), RedisReplies.integer)
        case .databaseSize:
            handler.handle(.shardCount) { response in
                guard case .integer(let shardCount) = response, shardCount > 0 else { return reply(RedisReplies.unexpected(response)) }
                each((1...UInt64(shardCount)).map { .keyCount(shard: $0) }) { responses in
                    RedisReplies.firstError(responses) ?? .integer(responses.reduce(0) { total, response in
                        if case .integer(let count) = response { return total + count }
                        return total
                    })
                }
            }
        case .scan(let cursor, let pattern, let count, let type):
            handler.handle(.shardCount) { response in
                guard case .integer(let shardCount) = response, shardCount > 0 else { return reply(RedisReplies.unexpected(response)) }
                guard let place = ScanCursor(cursor, shardCount: UInt64(shardCount)) else { return reply(.error("ERR invalid cursor")) }
                handler.handle(.scan(shard: place.shard, position: place.position, count: count)) { response in
                    guard case .keys(let keys, let next) = response else { return reply(RedisReplies.unexpected(response)) }
                    let following = place.following(next, shardCount: UInt64(shardCount))
                    let glob = pattern.map(GlobPattern.init)
                    let wantsStrings = type.map { String(decoding: $0, as: UTF8.self).lowercased() == "string" } ?? true
                    let shown = wantsStrings ? keys.filter { glob?.matches($0) ?? true } : []
                    reply(.array([.bulk(String(following)), .array(shown.map(RESPValue.bulk))]))
                }
            }
        case .ping, .echo, .hello, .commandList, .commandCount, .commandInfo, .commandDocs, .info, .select, .clientSetName,
             .clientGetName, .clientID, .clientSetInfo:
            reply(.error("ERR internal error: \(command) reached the engine"))
        }
    }

    /// `INFO`: what a Redis tool looks for first, and Flotilla's own version.
    static var information: String {
        [
            "# Server",
            "redis_version:\(FlotillaVersion.redisCompatible)",
            "flotilla_version:\(FlotillaVersion.current)",
            "redis_mode:standalone",
            "os:Linux",
            "",
            "# Replication",
            "role:master",
            "",
        ].joined(separator: "\r\n")
    }
}
