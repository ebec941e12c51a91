@testable import FlotillaNode
import FlotillaServer

/// Fuzzes the decoders of relayed client requests and their answers (`ForwardCodec`), both on
/// the whole input. Kept to the public decode functions so that it follows a rework of the
/// forwarding path with little change. Property besides not trapping: whatever decodes,
/// encoded again, decodes to the same value.
enum ForwardCodecFuzzTarget {
    static func run(_ input: [UInt8]) {
        if let (request, hops) = try? ForwardCodec.decodeRequest(input) {
            let again = try? ForwardCodec.decodeRequest(ForwardCodec.encode(request, hops: hops))
            fuzzCheck(again?.request == request && again?.hops == hops, "request round trip: \(request)")
        }
        if let response = try? ForwardCodec.decodeResponse(input) {
            fuzzCheck((try? ForwardCodec.decodeResponse(ForwardCodec.encode(response))) == response, "response round trip: \(response)")
        }
    }

    static var seeds: [(name: String, bytes: [UInt8])] {
        let requests: [ClientRequest] = [
            .put(key: Array("key".utf8), value: Array("value".utf8)), .get(key: Array("key".utf8)),
            .staleGet(key: Array("key".utf8)), .delete(key: Array("key".utf8)),
            .compareAndSet(key: Array("key".utf8), expected: Array("old".utf8), new: Array("new".utf8)),
            .shard(key: Array("key".utf8)), .ping, .status(shard: 1),
            .addObserver(shard: 1, node: 4, address: "127.0.0.1:7004"),
            .promote(shard: 1, node: 4), .remove(shard: 1, node: 4), .transfer(shard: 1, node: 2),
            .snapshot(shard: 1), .export(shard: 1, directory: "/tmp/export"),
        ]
        let responses: [ClientResponse] = [
            .ok, .okIndex(9), .exported(index: 9, file: "/tmp/export/shard-1.snapshot"), .value(Array("value".utf8)),
            .notFound, .mismatch, .shard(3), .pong, .status("shard=1 role=leader"), .error(.noLeader, "no leader for shard 1"),
        ]
        var seeds = requests.enumerated().map { (name: "request-\($0 + 1)", bytes: ForwardCodec.encode($1, hops: 1)) }
        seeds += responses.enumerated().map { (name: "response-\($0 + 1)", bytes: ForwardCodec.encode($1)) }
        // A put whose key claims 2^32 - 1 bytes that are not there.
        seeds.append((name: "put-key-length-without-key", bytes: [0, 1, 0xFF, 0xFF, 0xFF, 0xFF]))
        return seeds
    }
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argumentCount: UnsafeMutablePointer<CInt>, _ arguments: UnsafeMutableRawPointer) -> CInt {
    FuzzSeedWriter.writeIfAsked(ForwardCodecFuzzTarget.seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ForwardCodecFuzzTarget.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
