/// How the engine's answers read in RESP2. Errors keep Redis's codes where Redis has one
/// (`ERR`) and Flotilla's where it has none: `NOLEADER`, `TIMEOUT`, `BUSY`, `TRYAGAIN`
/// (shutting down) and `TOOLARGE`.
enum RedisReplies {
    static func error(_ code: ClientErrorCode, _ message: String) -> RESPValue {
        switch code {
        case .badRequest, .unknownShard, .notCaughtUp: return .error("ERR \(message)")
        case .tooLarge: return .error("TOOLARGE \(message)")
        case .noLeader: return .error("NOLEADER \(message)")
        case .timeout: return .error("TIMEOUT \(message)")
        case .busy: return .error("BUSY \(message)")
        case .shuttingDown: return .error("TRYAGAIN \(message)")
        case .internalError: return .error("ERR internal error: \(message)")
        }
    }

    /// An answer the command did not expect: a bug, said plainly.
    static func unexpected(_ response: ClientResponse) -> RESPValue {
        if case .error(let code, let message) = response { return error(code, message) }
        return .error("ERR internal error: unexpected answer \(response)")
    }

    /// The first error among several answers, if any.
    static func firstError(_ responses: [ClientResponse]) -> RESPValue? {
        for response in responses {
            if case .error(let code, let message) = response { return error(code, message) }
        }
        return nil
    }

    static func bulkOrNull(_ response: ClientResponse) -> RESPValue {
        switch response {
        case .value(let value): return .bulk(value)
        case .notFound: return .null
        default: return unexpected(response)
        }
    }

    static func integer(_ response: ClientResponse) -> RESPValue {
        if case .integer(let number) = response { return .integer(number) }
        return unexpected(response)
    }
}
