import FlotillaServer

/// Fuzzes the line framer and the request parser together, as a connection uses them.
///
/// Input: one byte choosing a small line limit (so that short inputs reach the over-limit path),
/// one byte choosing where the stream is cut in two, then the stream. Properties: framing does
/// not depend on how the stream is cut into chunks; no line is over the limit or holds a line
/// end; every request the parser accepts, written back as a line, parses to the same request.
enum LineProtocolFuzzTarget {
    static func run(_ input: [UInt8]) {
        guard input.count >= 2 else { return }
        let stream = Array(input[2...])
        let cut = Int(input[1]) * stream.count / 256
        for lineBytesMax in [Int(input[0] & 0x3F), LineProtocolLimits.lineBytesMax] {
            let whole = frame([stream[...]], lineBytesMax: lineBytesMax)
            let twoChunks = frame([stream[..<cut], stream[cut...]], lineBytesMax: lineBytesMax)
            fuzzCheck(whole == twoChunks, "framing in two chunks differs from framing at once")
            if stream.count <= 512 {
                let byteChunks = stream.indices.map { stream[$0...$0] }
                fuzzCheck(frame(byteChunks, lineBytesMax: lineBytesMax) == whole, "framing byte by byte differs")
            }
            for event in whole {
                guard case .line(let line) = event else { continue }
                fuzzCheck(line.count <= lineBytesMax, "a line of \(line.count) bytes passed a limit of \(lineBytesMax)")
                fuzzCheck(!line.contains(UInt8(ascii: "\n")), "a line holds a line feed")
                checkParse(line)
            }
        }
        checkParse(stream)
    }

    static func frame(_ chunks: [ArraySlice<UInt8>], lineBytesMax: Int) -> [LineFramer.Event] {
        var framer = LineFramer(lineBytesMax: lineBytesMax)
        return chunks.flatMap { framer.feed($0) }
    }

    static func checkParse(_ line: [UInt8]) {
        guard case .success(let request) = RequestParser.parse(line) else { return }
        let again = RequestParser.parse(render(request))
        fuzzCheck(again == .success(request), "\(request) does not survive being written back as a line")
    }

    /// The request as a client would write it (SPEC "The line protocol").
    static func render(_ request: ClientRequest) -> [UInt8] {
        func line(_ parts: [[UInt8]]) -> [UInt8] { Array(parts.joined(separator: [UInt8(ascii: " ")])) }
        func text(_ value: some BinaryInteger) -> [UInt8] { Array(String(value).utf8) }
        switch request {
        case .put(let key, let value): return line([Array("PUT".utf8), key, value])
        case .get(let key): return line([Array("GET".utf8), key])
        case .staleGet(let key): return line([Array("STALE-GET".utf8), key])
        case .delete(let key): return line([Array("DEL".utf8), key])
        case .compareAndSet(let key, let expected, let new): return line([Array("CAS".utf8), key, expected, new])
        case .shard(let key): return line([Array("SHARD".utf8), key])
        case .ping: return Array("PING".utf8)
        case .status(let shard): return line([Array("STATUS".utf8), text(shard)])
        case .snapshot(let shard): return line([Array("SNAPSHOT".utf8), text(shard)])
        case .addObserver(let shard, let node, let address):
            return line([Array("ADD-OBSERVER".utf8), text(shard), text(node), Array(address.utf8)])
        case .promote(let shard, let node): return line([Array("PROMOTE".utf8), text(shard), text(node)])
        case .remove(let shard, let node): return line([Array("REMOVE".utf8), text(shard), text(node)])
        case .transfer(let shard, let node): return line([Array("TRANSFER".utf8), text(shard), text(node)])
        case .export(let shard, let directory): return line([Array("EXPORT".utf8), text(shard), Array(directory.utf8)])
        case .increment(let key, let delta): return line([Array("INCR".utf8), key, text(delta)])
        case .replicaStatus(let shard, let node): return line([Array("STATUS".utf8), text(shard), text(node)])
        case .placement: return Array("PLACEMENT".utf8)
        case .addHost(let node, let address): return line([Array("ADD-HOST".utf8), text(node), Array(address.utf8)])
        case .rebalance: return Array("REBALANCE".utf8)
        case .drain(let node): return line([Array("DRAIN".utf8), text(node)])
        case .routes: return Array("ROUTES".utf8)
        case .set, .deleteCounting, .append, .expire, .persist, .timeToLive, .scan, .keyCount, .shardCount, .clusterMap, .clientAddresses:
            // Requests of the Redis protocol only, or between hosts: the line parser never yields them.
            fuzzCheck(false, "the line parser produced a Redis-only request \(request)")
            return []
        }
    }

    static var seeds: [(name: String, bytes: [UInt8])] {
        let requests: [ClientRequest] = [
            .put(key: Array("key".utf8), value: Array("a value with spaces".utf8)),
            .put(key: Array("empty".utf8), value: []),
            .get(key: Array("key".utf8)), .staleGet(key: Array("key".utf8)), .delete(key: Array("key".utf8)),
            .compareAndSet(key: Array("key".utf8), expected: Array("old".utf8), new: Array("new".utf8)),
            .shard(key: Array("key".utf8)), .ping, .status(shard: 1), .snapshot(shard: 2),
            .addObserver(shard: 1, node: 4, address: "127.0.0.1:7004"),
            .promote(shard: 1, node: 4), .remove(shard: 1, node: 4), .transfer(shard: 1, node: 2),
            .export(shard: 1, directory: "/tmp/export"), .increment(key: Array("counter".utf8), delta: -3),
            .replicaStatus(shard: 1, node: 2), .placement, .addHost(node: 4, address: "127.0.0.1:7104"), .rebalance, .drain(node: 2),
            .routes,
        ]
        // Limit byte 0x10 (16 bytes), cut in the middle.
        var seeds = requests.enumerated().map { position, request in
            (name: "request-\(position)", bytes: [0x10, 0x80] + render(request) + Array("\r\n".utf8))
        }
        seeds.append((name: "pipelined", bytes: [0x3F, 0x40] + requests.flatMap { render($0) + [UInt8(ascii: "\n")] }))
        seeds.append((name: "over-limit", bytes: [0x04, 0x10] + Array("GET a-key-longer-than-the-limit\r\n".utf8)))
        seeds.append((name: "carriage-returns", bytes: [0x08, 0x00] + Array("PUT k v\r\r\nPING\r".utf8)))
        seeds.append((name: "lowercase-and-zero-shard", bytes: [0x20, 0x20] + Array("status 0\nget\nping x\n\n".utf8)))
        return seeds
    }
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argumentCount: UnsafeMutablePointer<CInt>, _ arguments: UnsafeMutableRawPointer) -> CInt {
    FuzzSeedWriter.writeIfAsked(LineProtocolFuzzTarget.seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    LineProtocolFuzzTarget.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
