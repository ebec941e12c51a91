import FlotillaHost

/// Turns a command's arguments into a `RedisCommand`, or the error Redis would answer
/// (wrong arity, a syntax error, a number that is not one). Pure, like `RequestParser`.
enum RedisCommandParser {
    static func parse(_ arguments: [[UInt8]]) -> RedisParsing {
        guard let first = arguments.first else { return .refused(.error("ERR empty command")) }
        let name = String(decoding: first, as: UTF8.self).lowercased()
        let rest = Array(arguments.dropFirst())
        func arity(_ valid: Bool) -> RESPValue? { valid ? nil : wrongArity(name) }
        switch name {
        case "ping":
            if let error = arity(rest.count <= 1) { return .refused(error) }
            return .command(.ping(message: rest.first))
        case "echo":
            if let error = arity(rest.count == 1) { return .refused(error) }
            return .command(.echo(rest[0]))
        case "hello":
            return parseHello(rest)
        case "command":
            guard let sub = rest.first.map({ String(decoding: $0, as: UTF8.self).lowercased() }) else { return .command(.commandList) }
            switch sub {
            case "count": return .command(.commandCount)
            case "info": return .command(.commandInfo(names: Array(rest.dropFirst())))
            case "docs": return .command(.commandDocs)
            default: return .refused(.error("ERR unknown subcommand '\(shown(rest[0]))'. Try COMMAND HELP."))
            }
        case "info":
            return .command(.info)
        case "select":
            if let error = arity(rest.count == 1) { return .refused(error) }
            guard let database = RequestParser.signedInteger(rest[0]) else { return .refused(notInteger) }
            return .command(.select(database: Int(clamping: database)))
        case "client":
            guard let sub = rest.first.map({ String(decoding: $0, as: UTF8.self).lowercased() }) else { return .refused(wrongArity("client")) }
            switch sub {
            case "setname":
                guard rest.count == 2 else { return .refused(wrongArity("client|setname")) }
                guard !rest[1].contains(where: { $0 <= 0x20 || $0 >= 0x7F }) else {
                    return .refused(.error("ERR Client names cannot contain spaces, newlines or special characters."))
                }
                return .command(.clientSetName(rest[1]))
            case "getname":
                guard rest.count == 1 else { return .refused(wrongArity("client|getname")) }
                return .command(.clientGetName)
            case "id":
                guard rest.count == 1 else { return .refused(wrongArity("client|id")) }
                return .command(.clientID)
            case "setinfo":
                guard rest.count == 3 else { return .refused(wrongArity("client|setinfo")) }
                return .command(.clientSetInfo)
            default:
                return .refused(.error("ERR unknown subcommand '\(shown(rest[0]))'. Try CLIENT HELP."))
            }
        case "get", "strlen", "type", "ttl", "pttl", "persist":
            if let error = arity(rest.count == 1) { return .refused(error) }
            if let error = checkKey(rest[0]) { return .refused(error) }
            switch name {
            case "get": return .command(.get(key: rest[0]))
            case "strlen": return .command(.stringLength(key: rest[0]))
            case "type": return .command(.type(key: rest[0]))
            case "ttl": return .command(.timeToLive(key: rest[0], inMilliseconds: false))
            case "pttl": return .command(.timeToLive(key: rest[0], inMilliseconds: true))
            default: return .command(.persist(key: rest[0]))
            }
        case "set":
            return parseSet(rest)
        case "setnx", "getset", "append":
            if let error = arity(rest.count == 2) { return .refused(error) }
            if let error = checkKey(rest[0]) ?? checkValue(rest[1]) { return .refused(error) }
            switch name {
            case "setnx": return .command(.setIfAbsent(key: rest[0], value: rest[1]))
            case "getset": return .command(.getSet(key: rest[0], value: rest[1]))
            default: return .command(.append(key: rest[0], suffix: rest[1]))
            }
        case "mget", "del", "exists":
            if let error = arity(rest.count >= 1) { return .refused(error) }
            for key in rest { if let error = checkKey(key) { return .refused(error) } }
            switch name {
            case "mget": return .command(.multipleGet(keys: rest))
            case "del": return .command(.delete(keys: rest))
            default: return .command(.exists(keys: rest))
            }
        case "mset":
            if let error = arity(rest.count >= 2 && rest.count % 2 == 0) { return .refused(error) }
            for index in stride(from: 0, to: rest.count, by: 2) {
                if let error = checkKey(rest[index]) ?? checkValue(rest[index + 1]) { return .refused(error) }
            }
            return .command(.multipleSet(pairs: rest))
        case "incr", "decr":
            if let error = arity(rest.count == 1) { return .refused(error) }
            if let error = checkKey(rest[0]) { return .refused(error) }
            return .command(.increment(key: rest[0], delta: name == "incr" ? 1 : -1))
        case "incrby", "decrby":
            if let error = arity(rest.count == 2) { return .refused(error) }
            if let error = checkKey(rest[0]) { return .refused(error) }
            guard let delta = RequestParser.signedInteger(rest[1]) else { return .refused(notInteger) }
            if name == "decrby" {
                guard delta != Int64.min else { return .refused(.error("ERR decrement would overflow")) }
                return .command(.increment(key: rest[0], delta: -delta))
            }
            return .command(.increment(key: rest[0], delta: delta))
        case "expire", "pexpire":
            guard rest.count >= 2 else { return .refused(wrongArity(name)) }
            if let error = checkKey(rest[0]) { return .refused(error) }
            guard let amount = RequestParser.signedInteger(rest[1]) else { return .refused(notInteger) }
            guard rest.count == 2 else { return .refused(.error("ERR Unsupported option \(shown(rest[2]))")) }
            let (milliseconds, overflow) = name == "expire" ? amount.multipliedReportingOverflow(by: 1_000) : (amount, false)
            guard !overflow else { return .refused(.error("ERR invalid expire time in '\(name)' command")) }
            return .command(.expire(key: rest[0], milliseconds: milliseconds))
        case "dbsize":
            if let error = arity(rest.isEmpty) { return .refused(error) }
            return .command(.databaseSize)
        case "scan":
            return parseScan(rest)
        default:
            return .refused(.error("ERR unknown command '\(shown(first))', with args beginning with: "
                + rest.prefix(3).map { "'\(shown($0))' " }.joined()))
        }
    }

    static func parseHello(_ rest: [[UInt8]]) -> RedisParsing {
        var version: Int?
        var clientName: [UInt8]?
        var index = 0
        if let first = rest.first {
            guard let number = RequestParser.signedInteger(first) else {
                return .refused(.error("ERR Protocol version is not an integer or out of range"))
            }
            version = Int(clamping: number)
            index = 1
        }
        while index < rest.count {
            let option = String(decoding: rest[index], as: UTF8.self).lowercased()
            if option == "setname", index + 1 < rest.count {
                guard !rest[index + 1].contains(where: { $0 <= 0x20 || $0 >= 0x7F }) else {
                    return .refused(.error("ERR Client names cannot contain spaces, newlines or special characters."))
                }
                clientName = rest[index + 1]
                index += 2
            } else if option == "auth", index + 2 < rest.count {
                return .refused(.error("ERR AUTH is not supported: Flotilla has no passwords"))
            } else {
                return .refused(.error("ERR Syntax error in HELLO option '\(shown(rest[index]))'"))
            }
        }
        return .command(.hello(protocolVersion: version, clientName: clientName))
    }

    /// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]`.
    static func parseSet(_ rest: [[UInt8]]) -> RedisParsing {
        guard rest.count >= 2 else { return .refused(wrongArity("set")) }
        if let error = checkKey(rest[0]) ?? checkValue(rest[1]) { return .refused(error) }
        var condition = SetCondition.always
        var expiry = ExpiryChange.clear
        var expirySet = false
        var returnsPrevious = false
        var index = 2
        let syntax = RESPValue.error("ERR syntax error")
        while index < rest.count {
            let option = String(decoding: rest[index], as: UTF8.self).uppercased()
            switch option {
            case "NX", "XX":
                guard condition == .always else { return .refused(syntax) }
                condition = option == "NX" ? .ifAbsent : .ifPresent
                index += 1
            case "GET":
                returnsPrevious = true
                index += 1
            case "KEEPTTL":
                guard !expirySet else { return .refused(syntax) }
                expiry = .keep
                expirySet = true
                index += 1
            case "EX", "PX", "EXAT", "PXAT":
                guard !expirySet, index + 1 < rest.count else { return .refused(syntax) }
                guard let amount = RequestParser.signedInteger(rest[index + 1]) else { return .refused(notInteger) }
                let invalid = RESPValue.error("ERR invalid expire time in 'set' command")
                guard amount > 0 else { return .refused(invalid) }
                let seconds = option == "EX" || option == "EXAT"
                let (milliseconds, overflow) = seconds ? amount.multipliedReportingOverflow(by: 1_000) : (amount, false)
                guard !overflow else { return .refused(invalid) }
                expiry = option.hasSuffix("AT") ? .at(unixMilliseconds: UInt64(milliseconds)) : .after(milliseconds: milliseconds)
                expirySet = true
                index += 2
            default:
                return .refused(syntax)
            }
        }
        return .command(.set(key: rest[0], value: rest[1], condition: condition, expiry: expiry, returnsPrevious: returnsPrevious))
    }

    /// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`.
    static func parseScan(_ rest: [[UInt8]]) -> RedisParsing {
        guard let first = rest.first else { return .refused(wrongArity("scan")) }
        guard first.count <= 20, first.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let cursor = UInt64(String(decoding: first, as: UTF8.self)) else {
            return .refused(.error("ERR invalid cursor"))
        }
        var pattern: [UInt8]?
        var count = 10
        var type: [UInt8]?
        var index = 1
        while index < rest.count {
            let option = String(decoding: rest[index], as: UTF8.self).uppercased()
            guard index + 1 < rest.count else { return .refused(.error("ERR syntax error")) }
            switch option {
            case "MATCH": pattern = rest[index + 1]
            case "COUNT":
                guard let number = RequestParser.signedInteger(rest[index + 1]) else { return .refused(notInteger) }
                guard number >= 1 else { return .refused(.error("ERR syntax error")) }
                // A hint: one call asks a shard for at most this many.
                count = Int(min(number, Int64(ClientRequest.scanPageMax)))
            case "TYPE": type = rest[index + 1]
            default: return .refused(.error("ERR syntax error"))
            }
            index += 2
        }
        return .command(.scan(cursor: cursor, pattern: pattern, count: count, type: type))
    }

    static let notInteger = RESPValue.error("ERR value is not an integer or out of range")

    static func wrongArity(_ name: String) -> RESPValue {
        .error("ERR wrong number of arguments for '\(name)' command")
    }

    /// Keys are binary-safe, within the line protocol's size limits.
    static func checkKey(_ key: [UInt8]) -> RESPValue? {
        if key.isEmpty { return .error("ERR empty keys are not supported") }
        if key.count > LineProtocolLimits.keyBytesMax {
            return .error("TOOLARGE key of \(key.count) bytes is over the \(LineProtocolLimits.keyBytesMax)-byte limit")
        }
        return nil
    }

    static func checkValue(_ value: [UInt8]) -> RESPValue? {
        guard value.count > LineProtocolLimits.valueBytesMax else { return nil }
        return .error("TOOLARGE value of \(value.count) bytes is over the \(LineProtocolLimits.valueBytesMax)-byte limit")
    }

    /// An argument as text in an error message: printable, and not too long.
    static func shown(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(64).map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        return bytes.count > 64 ? text + "..." : text
    }
}

/// What a command's arguments parsed to.
enum RedisParsing: Equatable, Sendable {
    case command(RedisCommand)
    /// The error to answer instead; nothing is carried out.
    case refused(RESPValue)
}
