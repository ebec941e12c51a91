/// What `COMMAND` tells a client about the commands Flotilla serves: name, arity (negative:
/// at least that many), flags, and the first key, last key and key step, in the six-field form
/// every client reads.
enum RedisCommandTable {
    struct Entry {
        let name: String
        let arity: Int
        let flags: [String]
        let firstKey: Int
        let lastKey: Int
        let step: Int
    }

    static let entries: [Entry] = [
        Entry(name: "ping", arity: -1, flags: ["fast"], firstKey: 0, lastKey: 0, step: 0),
        Entry(name: "echo", arity: 2, flags: ["fast"], firstKey: 0, lastKey: 0, step: 0),
        Entry(name: "quit", arity: -1, flags: ["fast"], firstKey: 0, lastKey: 0, step: 0),
        Entry(name: "hello", arity: -1, flags: ["fast"], firstKey: 0, lastKey: 0, step: 0),
        Entry(name: "command", arity: -1, flags: ["loading", "stale"], firstKey: 0, lastKey: 0, step: 0),
        Entry(name: "info", arity: -1, flags: ["loading", "stale"], firstKey: 0, lastKey: 0, step: 0),
        Entry(name: "select", arity: 2, flags: ["loading", "stale", "fast"], firstKey: 0, lastKey: 0, step: 0),
        Entry(name: "client", arity: -2, flags: ["loading", "stale"], firstKey: 0, lastKey: 0, step: 0),
        Entry(name: "get", arity: 2, flags: ["readonly", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "set", arity: -3, flags: ["write", "denyoom"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "setnx", arity: 3, flags: ["write", "denyoom", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "getset", arity: 3, flags: ["write", "denyoom", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "mget", arity: -2, flags: ["readonly", "fast"], firstKey: 1, lastKey: -1, step: 1),
        Entry(name: "mset", arity: -3, flags: ["write", "denyoom"], firstKey: 1, lastKey: -1, step: 2),
        Entry(name: "del", arity: -2, flags: ["write"], firstKey: 1, lastKey: -1, step: 1),
        Entry(name: "exists", arity: -2, flags: ["readonly", "fast"], firstKey: 1, lastKey: -1, step: 1),
        Entry(name: "incr", arity: 2, flags: ["write", "denyoom", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "incrby", arity: 3, flags: ["write", "denyoom", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "decr", arity: 2, flags: ["write", "denyoom", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "decrby", arity: 3, flags: ["write", "denyoom", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "append", arity: 3, flags: ["write", "denyoom", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "strlen", arity: 2, flags: ["readonly", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "expire", arity: 3, flags: ["write", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "pexpire", arity: 3, flags: ["write", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "ttl", arity: 2, flags: ["readonly", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "pttl", arity: 2, flags: ["readonly", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "persist", arity: 2, flags: ["write", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "dbsize", arity: 1, flags: ["readonly", "fast"], firstKey: 0, lastKey: 0, step: 0),
        Entry(name: "type", arity: 2, flags: ["readonly", "fast"], firstKey: 1, lastKey: 1, step: 1),
        Entry(name: "scan", arity: -2, flags: ["readonly"], firstKey: 0, lastKey: 0, step: 0),
    ]

    static func reply(for entry: Entry) -> RESPValue {
        .array([
            .bulk(entry.name), .integer(Int64(entry.arity)), .array(entry.flags.map { .simple($0) }),
            .integer(Int64(entry.firstKey)), .integer(Int64(entry.lastKey)), .integer(Int64(entry.step)),
        ])
    }

    static var all: RESPValue { .array(entries.map(reply(for:))) }

    static func info(_ names: [[UInt8]]) -> RESPValue {
        .array(names.map { name in
            let lowered = String(decoding: name, as: UTF8.self).lowercased()
            return entries.first { $0.name == lowered }.map(reply(for:)) ?? .nullArray
        })
    }
}
