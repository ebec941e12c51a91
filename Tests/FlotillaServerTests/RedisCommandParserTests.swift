import FlotillaHost
@testable import FlotillaServer
import XCTest

/// Redis command arguments parse to the command Flotilla carries out, or to the error Redis
/// answers: arity, every `SET` option and their conflicts, expire times, `INCRBY`/`DECRBY`
/// numbers (the `DECRBY` of `Int64.min` included), `SCAN` options, unknown commands and
/// subcommands, and the key and value size limits.
final class RedisCommandParserTests: XCTestCase {
    func parse(_ words: String...) -> RedisParsing { RedisCommandParser.parse(words.map { Array($0.utf8) }) }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func refusal(_ parsing: RedisParsing) -> String? {
        if case .refused(.error(let text)) = parsing { return text }
        return nil
    }

    func set(_ key: String, _ value: String, _ condition: SetCondition = .always, _ expiry: ExpiryChange = .clear,
             previous: Bool = false) -> RedisParsing {
        .command(.set(key: bytes(key), value: bytes(value), condition: condition, expiry: expiry, returnsPrevious: previous))
    }

    func testNamesAreCaseInsensitive() {
        XCTAssertEqual(parse("gEt", "k"), .command(.get(key: bytes("k"))))
        XCTAssertEqual(parse("PING"), .command(.ping(message: nil)))
        XCTAssertEqual(parse("ping", "hi"), .command(.ping(message: bytes("hi"))))
    }

    func testArityErrors() {
        let cases: [(String, [String])] = [
            ("get", ["GET"]), ("get", ["GET", "a", "b"]), ("set", ["SET", "k"]), ("ping", ["PING", "a", "b"]),
            ("echo", ["ECHO"]), ("mget", ["MGET"]), ("del", ["DEL"]), ("exists", ["EXISTS"]), ("mset", ["MSET"]),
            ("mset", ["MSET", "a"]), ("mset", ["MSET", "a", "1", "b"]), ("incr", ["INCR"]), ("incrby", ["INCRBY", "k"]),
            ("decrby", ["DECRBY", "k", "1", "2"]), ("append", ["APPEND", "k"]), ("setnx", ["SETNX", "k"]),
            ("getset", ["GETSET", "k"]), ("strlen", ["STRLEN"]), ("ttl", ["TTL"]), ("pttl", ["PTTL", "a", "b"]),
            ("persist", ["PERSIST"]), ("expire", ["EXPIRE", "k"]), ("pexpire", ["PEXPIRE"]), ("dbsize", ["DBSIZE", "x"]),
            ("scan", ["SCAN"]), ("select", ["SELECT"]), ("type", ["TYPE"]), ("client", ["CLIENT"]),
            ("client|setname", ["CLIENT", "SETNAME"]), ("client|getname", ["CLIENT", "GETNAME", "x"]),
        ]
        for (name, words) in cases {
            XCTAssertEqual(RedisCommandParser.parse(words.map(bytes)), .refused(.error("ERR wrong number of arguments for '\(name)' command")),
                           "\(words)")
        }
    }

    func testSetOptions() {
        XCTAssertEqual(parse("SET", "k", "v"), set("k", "v"))
        XCTAssertEqual(parse("SET", "k", "v", "nx"), set("k", "v", .ifAbsent))
        XCTAssertEqual(parse("SET", "k", "v", "XX"), set("k", "v", .ifPresent))
        XCTAssertEqual(parse("SET", "k", "v", "GET"), set("k", "v", previous: true))
        XCTAssertEqual(parse("SET", "k", "v", "NX", "GET"), set("k", "v", .ifAbsent, previous: true))
        XCTAssertEqual(parse("SET", "k", "v", "EX", "10"), set("k", "v", .always, .after(milliseconds: 10_000)))
        XCTAssertEqual(parse("SET", "k", "v", "px", "10"), set("k", "v", .always, .after(milliseconds: 10)))
        XCTAssertEqual(parse("SET", "k", "v", "EXAT", "1700000000"), set("k", "v", .always, .at(unixMilliseconds: 1_700_000_000_000)))
        XCTAssertEqual(parse("SET", "k", "v", "PXAT", "1700000000123"), set("k", "v", .always, .at(unixMilliseconds: 1_700_000_000_123)))
        XCTAssertEqual(parse("SET", "k", "v", "KEEPTTL"), set("k", "v", .always, .keep))
        XCTAssertEqual(parse("SET", "k", "v", "XX", "KEEPTTL", "GET"), set("k", "v", .ifPresent, .keep, previous: true))
        XCTAssertEqual(parse("SET", "k", "v", "PX", "5", "XX"), set("k", "v", .ifPresent, .after(milliseconds: 5)))
    }

    func testSetOptionConflictsAreSyntaxErrors() {
        let syntax = "ERR syntax error"
        XCTAssertEqual(refusal(parse("SET", "k", "v", "NX", "XX")), syntax)
        XCTAssertEqual(refusal(parse("SET", "k", "v", "XX", "NX")), syntax)
        XCTAssertEqual(refusal(parse("SET", "k", "v", "EX", "1", "PX", "1")), syntax)
        XCTAssertEqual(refusal(parse("SET", "k", "v", "EX", "1", "KEEPTTL")), syntax)
        XCTAssertEqual(refusal(parse("SET", "k", "v", "KEEPTTL", "PXAT", "1")), syntax)
        XCTAssertEqual(refusal(parse("SET", "k", "v", "EX")), syntax, "EX without its time")
        XCTAssertEqual(refusal(parse("SET", "k", "v", "BOGUS")), syntax)
        XCTAssertEqual(refusal(parse("SET", "k", "v", "10")), syntax)
    }

    func testInvalidExpireTimes() {
        let invalid = "ERR invalid expire time in 'set' command"
        XCTAssertEqual(refusal(parse("SET", "k", "v", "EX", "0")), invalid)
        XCTAssertEqual(refusal(parse("SET", "k", "v", "PX", "-1")), invalid)
        XCTAssertEqual(refusal(parse("SET", "k", "v", "EXAT", "0")), invalid)
        XCTAssertEqual(refusal(parse("SET", "k", "v", "EX", "9223372036854775807")), invalid, "overflows in milliseconds")
        XCTAssertEqual(refusal(parse("SET", "k", "v", "EX", "ten")), "ERR value is not an integer or out of range")
        XCTAssertEqual(refusal(parse("SET", "k", "v", "PX", "99999999999999999999")), "ERR value is not an integer or out of range")
        XCTAssertEqual(parse("SET", "k", "v", "PX", "9223372036854775807"), set("k", "v", .always, .after(milliseconds: Int64.max)))
    }

    func testExpire() {
        XCTAssertEqual(parse("EXPIRE", "k", "10"), .command(.expire(key: bytes("k"), milliseconds: 10_000)))
        XCTAssertEqual(parse("PEXPIRE", "k", "10"), .command(.expire(key: bytes("k"), milliseconds: 10)))
        XCTAssertEqual(parse("EXPIRE", "k", "-1"), .command(.expire(key: bytes("k"), milliseconds: -1_000)), "negative: deletes")
        XCTAssertEqual(refusal(parse("EXPIRE", "k", "x")), "ERR value is not an integer or out of range")
        XCTAssertEqual(refusal(parse("EXPIRE", "k", "9223372036854775807")), "ERR invalid expire time in 'expire' command")
        XCTAssertEqual(refusal(parse("EXPIRE", "k", "10", "NX")), "ERR Unsupported option NX")
    }

    func testIncrementFamily() {
        XCTAssertEqual(parse("INCR", "k"), .command(.increment(key: bytes("k"), delta: 1)))
        XCTAssertEqual(parse("DECR", "k"), .command(.increment(key: bytes("k"), delta: -1)))
        XCTAssertEqual(parse("INCRBY", "k", "-7"), .command(.increment(key: bytes("k"), delta: -7)))
        XCTAssertEqual(parse("DECRBY", "k", "7"), .command(.increment(key: bytes("k"), delta: -7)))
        XCTAssertEqual(parse("DECRBY", "k", "-9223372036854775807"), .command(.increment(key: bytes("k"), delta: Int64.max)))
        XCTAssertEqual(parse("INCRBY", "k", "-9223372036854775808"), .command(.increment(key: bytes("k"), delta: Int64.min)))
        XCTAssertEqual(refusal(parse("DECRBY", "k", "-9223372036854775808")), "ERR decrement would overflow")
        for bad in ["", "x", "1.5", "9223372036854775808", "-9223372036854775809", "+1", " 1", "1 "] {
            XCTAssertEqual(refusal(parse("INCRBY", "k", bad)), "ERR value is not an integer or out of range", "'\(bad)'")
        }
    }

    func testMultiKeyCommands() {
        XCTAssertEqual(parse("MGET", "a", "b", "a"), .command(.multipleGet(keys: [bytes("a"), bytes("b"), bytes("a")])))
        XCTAssertEqual(parse("DEL", "a"), .command(.delete(keys: [bytes("a")])))
        XCTAssertEqual(parse("EXISTS", "a", "a"), .command(.exists(keys: [bytes("a"), bytes("a")])))
        XCTAssertEqual(parse("MSET", "a", "1", "b", "2"), .command(.multipleSet(pairs: ["a", "1", "b", "2"].map(bytes))))
        XCTAssertEqual(RedisCommand.multipleSet(pairs: ["a", "1", "b", "2"].map(bytes)).keys, [bytes("a"), bytes("b")])
    }

    func testScan() {
        XCTAssertEqual(parse("SCAN", "0"), .command(.scan(cursor: 0, pattern: nil, count: 10, type: nil)))
        XCTAssertEqual(parse("SCAN", "18446744073709551615", "match", "u*", "COUNT", "100", "TYPE", "string"),
                       .command(.scan(cursor: UInt64.max, pattern: bytes("u*"), count: 100, type: bytes("string"))))
        for bad in ["-1", "x", "18446744073709551616", "", "+1", "1 "] {
            XCTAssertEqual(refusal(parse("SCAN", bad)), "ERR invalid cursor", "'\(bad)'")
        }
        XCTAssertEqual(refusal(parse("SCAN", "0", "COUNT", "0")), "ERR syntax error")
        XCTAssertEqual(refusal(parse("SCAN", "0", "COUNT", "x")), "ERR value is not an integer or out of range")
        XCTAssertEqual(refusal(parse("SCAN", "0", "MATCH")), "ERR syntax error")
        XCTAssertEqual(refusal(parse("SCAN", "0", "LIMIT", "3")), "ERR syntax error")
    }

    func testConnectionCommands() {
        XCTAssertEqual(parse("HELLO"), .command(.hello(protocolVersion: nil, clientName: nil)))
        XCTAssertEqual(parse("HELLO", "3"), .command(.hello(protocolVersion: 3, clientName: nil)))
        XCTAssertEqual(parse("HELLO", "2", "SETNAME", "me"), .command(.hello(protocolVersion: 2, clientName: bytes("me"))))
        XCTAssertEqual(refusal(parse("HELLO", "2", "SETNAME", "a b")), "ERR Client names cannot contain spaces, newlines or special characters.")
        XCTAssertEqual(refusal(parse("HELLO", "two")), "ERR Protocol version is not an integer or out of range")
        XCTAssertEqual(refusal(parse("HELLO", "2", "AUTH", "u", "p")), "ERR AUTH is not supported: Flotilla has no passwords")
        XCTAssertEqual(refusal(parse("HELLO", "2", "SETNAME")), "ERR Syntax error in HELLO option 'SETNAME'")
        XCTAssertEqual(parse("SELECT", "1"), .command(.select(database: 1)))
        XCTAssertEqual(refusal(parse("SELECT", "x")), "ERR value is not an integer or out of range")
        XCTAssertEqual(parse("CLIENT", "setname", "app"), .command(.clientSetName(bytes("app"))))
        XCTAssertEqual(refusal(parse("CLIENT", "SETNAME", "my app")), "ERR Client names cannot contain spaces, newlines or special characters.")
        XCTAssertEqual(parse("CLIENT", "GETNAME"), .command(.clientGetName))
        XCTAssertEqual(parse("CLIENT", "ID"), .command(.clientID))
        XCTAssertEqual(parse("CLIENT", "SETINFO", "LIB-NAME", "redis-py"), .command(.clientSetInfo))
        XCTAssertEqual(refusal(parse("CLIENT", "KILL")), "ERR unknown subcommand 'KILL'. Try CLIENT HELP.")
        XCTAssertEqual(parse("COMMAND"), .command(.commandList))
        XCTAssertEqual(parse("COMMAND", "DOCS"), .command(.commandDocs))
        XCTAssertEqual(parse("command", "count"), .command(.commandCount))
        XCTAssertEqual(parse("COMMAND", "INFO", "get"), .command(.commandInfo(names: [bytes("get")])))
        XCTAssertEqual(refusal(parse("COMMAND", "FROB")), "ERR unknown subcommand 'FROB'. Try COMMAND HELP.")
    }

    func testUnknownCommand() {
        XCTAssertEqual(refusal(parse("FLUSHALL")), "ERR unknown command 'FLUSHALL', with args beginning with: ")
        XCTAssertEqual(refusal(parse("HSET", "h", "f", "v", "w")), "ERR unknown command 'HSET', with args beginning with: 'h' 'f' 'v' ")
        XCTAssertEqual(refusal(RedisCommandParser.parse([[0x01, 0x41]])), "ERR unknown command '?A', with args beginning with: ")
        XCTAssertEqual(refusal(RedisCommandParser.parse([])), "ERR empty command")
    }

    func testKeyAndValueLimits() {
        let longest = String(repeating: "k", count: LineProtocolLimits.keyBytesMax)
        let tooLong = longest + "k"
        XCTAssertEqual(parse("GET", longest), .command(.get(key: bytes(longest))))
        XCTAssertEqual(refusal(parse("GET", tooLong))?.hasPrefix("TOOLARGE key of 1025 bytes"), true)
        XCTAssertEqual(refusal(parse("MGET", "a", tooLong))?.hasPrefix("TOOLARGE "), true)
        XCTAssertEqual(refusal(parse("MSET", "a", "1", tooLong, "2"))?.hasPrefix("TOOLARGE "), true)
        XCTAssertEqual(refusal(parse("GET", "")), "ERR empty keys are not supported")
        let biggest = [UInt8](repeating: 0x76, count: LineProtocolLimits.valueBytesMax)
        XCTAssertEqual(RedisCommandParser.parse([bytes("SET"), bytes("k"), biggest]),
                       .command(.set(key: bytes("k"), value: biggest, condition: .always, expiry: .clear, returnsPrevious: false)))
        XCTAssertEqual(refusal(RedisCommandParser.parse([bytes("SET"), bytes("k"), biggest + [0x76]]))?.hasPrefix("TOOLARGE value of 1048577 bytes"), true)
        XCTAssertEqual(refusal(RedisCommandParser.parse([bytes("APPEND"), bytes("k"), biggest + [0x76]]))?.hasPrefix("TOOLARGE "), true)
        XCTAssertEqual(refusal(RedisCommandParser.parse([bytes("MSET"), bytes("k"), biggest + [0x76]]))?.hasPrefix("TOOLARGE "), true)
    }
}
