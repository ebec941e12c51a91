import FlotillaHost
@testable import FlotillaNode
import FlotillaRaft
import FlotillaServer
import XCTest

/// A client request relayed to another host, and its answer relayed back, decode to what was
/// sent: every request and response case, with fields from a seeded generator.
final class ForwardCodecRoundTripTests: XCTestCase {
    /// Exhaustive, so that a new request case does not compile until it is generated here.
    static func caseName(_ request: ClientRequest) -> String {
        switch request {
        case .put: return "put"
        case .get: return "get"
        case .staleGet: return "staleGet"
        case .delete: return "delete"
        case .compareAndSet: return "compareAndSet"
        case .shard: return "shard"
        case .ping: return "ping"
        case .status: return "status"
        case .replicaStatus: return "replicaStatus"
        case .addObserver: return "addObserver"
        case .promote: return "promote"
        case .remove: return "remove"
        case .transfer: return "transfer"
        case .snapshot: return "snapshot"
        case .export: return "export"
        case .increment: return "increment"
        case .set: return "set"
        case .deleteCounting: return "deleteCounting"
        case .append: return "append"
        case .expire: return "expire"
        case .persist: return "persist"
        case .timeToLive: return "timeToLive"
        case .scan: return "scan"
        case .keyCount: return "keyCount"
        case .shardCount: return "shardCount"
        case .placement: return "placement"
        case .addHost: return "addHost"
        case .rebalance: return "rebalance"
        case .drain: return "drain"
        case .clusterMap: return "clusterMap"
        case .routes: return "routes"
        case .clientAddresses: return "clientAddresses"
        }
    }

    static func caseName(_ response: ClientResponse) -> String {
        switch response {
        case .ok: return "ok"
        case .okIndex: return "okIndex"
        case .exported: return "exported"
        case .value: return "value"
        case .notFound: return "notFound"
        case .mismatch: return "mismatch"
        case .shard: return "shard"
        case .pong: return "pong"
        case .status: return "status"
        case .error: return "error"
        case .integer: return "integer"
        case .stored: return "stored"
        case .keys: return "keys"
        }
    }

    func testEveryRequestRoundTrips() throws {
        var generator = ForwardValueGenerator(seed: 51)
        var casesSeen: Set<String> = []
        for round in 0..<20 {
            for position in 0..<ForwardValueGenerator.requestCases {
                let request = generator.request(casePosition: position)
                let hops = UInt8(truncatingIfNeeded: generator.random.next())
                casesSeen.insert(Self.caseName(request))
                let decoded = try ForwardCodec.decodeRequest(ForwardCodec.encode(request, hops: hops))
                XCTAssertEqual(decoded.request, request, "round \(round)")
                XCTAssertEqual(decoded.hops, hops)
            }
        }
        XCTAssertEqual(casesSeen.count, ForwardValueGenerator.requestCases, "every request case was generated: \(casesSeen.sorted())")
    }

    func testEveryResponseRoundTrips() throws {
        var generator = ForwardValueGenerator(seed: 52)
        var casesSeen: Set<String> = []
        for round in 0..<30 {
            for position in 0..<ForwardValueGenerator.responseCases {
                let response = generator.response(casePosition: position)
                casesSeen.insert(Self.caseName(response))
                XCTAssertEqual(try ForwardCodec.decodeResponse(ForwardCodec.encode(response)), response, "round \(round)")
            }
        }
        XCTAssertEqual(casesSeen.count, ForwardValueGenerator.responseCases, "every response case was generated: \(casesSeen.sorted())")
        for code in ForwardValueGenerator.errorCodes {
            let response = ClientResponse.error(code, generator.text())
            XCTAssertEqual(try ForwardCodec.decodeResponse(ForwardCodec.encode(response)), response)
        }
    }

    /// Every cut of an encoded request or response is refused, never trapped on.
    func testEveryTruncationThrows() {
        var generator = ForwardValueGenerator(seed: 53)
        for position in 0..<ForwardValueGenerator.requestCases {
            let bytes = ForwardCodec.encode(generator.request(casePosition: position), hops: 2)
            for length in 0..<bytes.count {
                XCTAssertThrowsError(try ForwardCodec.decodeRequest(Array(bytes[..<length])), "request \(position) cut at \(length)")
            }
        }
        for position in 0..<ForwardValueGenerator.responseCases {
            let bytes = ForwardCodec.encode(generator.response(casePosition: position))
            for length in 0..<bytes.count {
                XCTAssertThrowsError(try ForwardCodec.decodeResponse(Array(bytes[..<length])), "response \(position) cut at \(length)")
            }
        }
    }
}
