import FlotillaHost

/// A Redis command as Flotilla carries it out, parsed and checked by `RedisCommandParser`.
enum RedisCommand: Equatable, Sendable {
    case ping(message: [UInt8]?)
    case echo([UInt8])
    case hello(protocolVersion: Int?, clientName: [UInt8]?)
    case commandList
    case commandCount
    case commandInfo(names: [[UInt8]])
    case commandDocs
    case info
    case select(database: Int)
    case clientSetName([UInt8])
    case clientGetName
    case clientID
    case clientSetInfo
    case get(key: [UInt8])
    case set(key: [UInt8], value: [UInt8], condition: SetCondition, expiry: ExpiryChange, returnsPrevious: Bool)
    case setIfAbsent(key: [UInt8], value: [UInt8])
    case getSet(key: [UInt8], value: [UInt8])
    case multipleGet(keys: [[UInt8]])
    /// Keys and values alternating.
    case multipleSet(pairs: [[UInt8]])
    case delete(keys: [[UInt8]])
    case exists(keys: [[UInt8]])
    case increment(key: [UInt8], delta: Int64)
    case append(key: [UInt8], suffix: [UInt8])
    case stringLength(key: [UInt8])
    case expire(key: [UInt8], milliseconds: Int64)
    case timeToLive(key: [UInt8], inMilliseconds: Bool)
    case persist(key: [UInt8])
    case databaseSize
    case type(key: [UInt8])
    case scan(cursor: UInt64, pattern: [UInt8]?, count: Int, type: [UInt8]?)

    /// The keys the command reads or writes, which order it among the connection's requests.
    var keys: [[UInt8]] {
        switch self {
        case .get(let key), .set(let key, _, _, _, _), .setIfAbsent(let key, _), .getSet(let key, _), .increment(let key, _),
             .append(let key, _), .stringLength(let key), .expire(let key, _), .timeToLive(let key, _), .persist(let key),
             .type(let key):
            return [key]
        case .multipleGet(let keys), .delete(let keys), .exists(let keys):
            return keys
        case .multipleSet(let pairs):
            return stride(from: 0, to: pairs.count, by: 2).map { pairs[$0] }
        case .ping, .echo, .hello, .commandList, .commandCount, .commandInfo, .commandDocs, .info, .select, .clientSetName,
             .clientGetName, .clientID, .clientSetInfo, .databaseSize, .scan:
            return []
        }
    }
}
