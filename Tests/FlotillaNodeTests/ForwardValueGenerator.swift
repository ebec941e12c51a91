import FlotillaHost
import FlotillaRaft
import FlotillaServer

/// Random requests and responses for the forward codec, from a seed.
struct ForwardValueGenerator {
    static let errorCodes: [ClientErrorCode] = [
        .badRequest, .tooLarge, .unknownShard, .noLeader, .timeout, .notCaughtUp, .busy, .shuttingDown, .internalError,
    ]

    static let requestCases = 32
    static let responseCases = 13

    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    mutating func number() -> UInt64 {
        switch random.next() % 4 {
        case 0: return 0
        case 1: return .max
        default: return random.next()
        }
    }

    mutating func bytes() -> [UInt8] {
        (0..<Int(random.next() % 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    mutating func text() -> String {
        let scalars = (0..<Int(random.next() % 20)).map { _ in
            Unicode.Scalar(UInt32(0x20 + random.next() % 0x5F)) ?? "?"
        }
        return String(String.UnicodeScalarView(scalars)) + (random.next() % 2 == 0 ? "é→𝄞" : "")
    }

    mutating func request(casePosition: Int) -> ClientRequest {
        switch casePosition {
        case 0: return .put(key: bytes(), value: bytes())
        case 1: return .get(key: bytes())
        case 2: return .staleGet(key: bytes())
        case 3: return .delete(key: bytes())
        case 4: return .compareAndSet(key: bytes(), expected: bytes(), new: bytes())
        case 5: return .shard(key: bytes())
        case 6: return .ping
        case 7: return .status(shard: number())
        case 8: return .addObserver(shard: number(), node: number(), address: text())
        case 9: return .promote(shard: number(), node: number())
        case 10: return .remove(shard: number(), node: number())
        case 11: return .transfer(shard: number(), node: number())
        case 12: return .snapshot(shard: number())
        case 13: return .export(shard: number(), directory: text())
        case 14: return .increment(key: bytes(), delta: Int64(bitPattern: number()))
        case 15: return .set(key: bytes(), value: bytes(), condition: [SetCondition.always, .ifAbsent, .ifPresent][Int(random.next() % 3)],
                             expiry: expiry(), returnsPrevious: random.next() % 2 == 0)
        case 16: return .deleteCounting(key: bytes())
        case 17: return .append(key: bytes(), suffix: bytes())
        case 18: return .expire(key: bytes(), expiry: expiry())
        case 19: return .persist(key: bytes())
        case 20: return .timeToLive(key: bytes())
        case 21: return .scan(shard: number(), position: number(), count: Int(random.next() % 5_000))
        case 22: return .keyCount(shard: number())
        case 23: return .shardCount
        case 24: return .placement
        case 25: return .addHost(node: number(), address: text())
        case 26: return .rebalance
        case 27: return .drain(node: number())
        case 28: return .clusterMap
        case 29: return .routes
        case 30: return .clientAddresses
        default: return .replicaStatus(shard: number(), node: number())
        }
    }

    mutating func response(casePosition: Int) -> ClientResponse {
        switch casePosition {
        case 0: return .ok
        case 1: return .okIndex(number())
        case 2: return .exported(index: number(), file: text())
        case 3: return .value(bytes())
        case 4: return .notFound
        case 5: return .mismatch
        case 6: return .shard(number())
        case 7: return .pong
        case 8: return .status(text())
        case 9: return .integer(Int64(bitPattern: number()))
        case 10: return .stored(random.next() % 2 == 0, previous: random.next() % 2 == 0 ? nil : bytes())
        case 11: return .keys((0..<Int(random.next() % 5)).map { _ in bytes() }, next: random.next() % 2 == 0 ? nil : number())
        default:
            let codes = Self.errorCodes
            return .error(codes[Int(random.next() % UInt64(codes.count))], text())
        }
    }

    mutating func expiry() -> ExpiryChange {
        switch random.next() % 4 {
        case 0: return .clear
        case 1: return .keep
        case 2: return .after(milliseconds: Int64(bitPattern: number()))
        default: return .at(unixMilliseconds: number())
        }
    }
}
