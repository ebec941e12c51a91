import ArgumentParser
@testable import FlotillaCommand
import FlotillaServer
import XCTest

/// `flotilla bench`'s and `flotilla serve`'s command lines, parsed (and validated) without running.
final class BenchArgumentTests: XCTestCase {
    func testDefaultsAreClosedLoopLineProtocol() throws {
        let options = try Bench.parse(["--addr", "127.0.0.1:7301", "--ops", "100"]).loadOptions()
        XCTAssertEqual(options.addresses.map(\.host), ["127.0.0.1"])
        XCTAssertEqual(options.addresses.map(\.port), [7301])
        XCTAssertEqual(options.connections, 64)
        XCTAssertEqual(options.pipelineDepth, 1)
        XCTAssertNil(options.ratePerSecond)
        XCTAssertEqual(options.loadProtocol, .line)
        XCTAssertEqual(options.keyPrefix, "key-")
        XCTAssertEqual(options.operations, 100)
        XCTAssertNil(options.durationSeconds)
    }

    func testEveryFlagReachesTheLoadGenerator() throws {
        let options = try Bench.parse([
            "--addr", "a:1,b:2", "--connections", "8", "--rate", "5000", "--protocol", "redis", "--keys", "50",
            "--key-prefix", "bench:", "--value-size", "100", "--threads", "3", "--reads", "0.25", "--duration", "2.5",
        ]).loadOptions()
        XCTAssertEqual(options.addresses.map(\.host), ["a", "b"])
        XCTAssertEqual(options.addresses.map(\.port), [1, 2])
        XCTAssertEqual(options.connections, 8)
        XCTAssertEqual(options.ratePerSecond, 5000)
        XCTAssertEqual(options.loadProtocol, .redis)
        XCTAssertEqual(options.keyCount, 50)
        XCTAssertEqual(options.keyPrefix, "bench:")
        XCTAssertEqual(options.valueSizeBytes, 100)
        XCTAssertEqual(options.threads, 3)
        XCTAssertEqual(options.readFraction, 0.25)
        XCTAssertEqual(options.durationSeconds, 2.5)
        XCTAssertNil(options.operations)

        let closed = try Bench.parse(["--addr", "h:9", "--pipeline", "16", "--stale", "--reads", "1", "--ops", "1"]).loadOptions()
        XCTAssertEqual(closed.pipelineDepth, 16)
        XCTAssertTrue(closed.stale)
        XCTAssertFalse(closed.direct, "without --direct nothing changes")

        let direct = try Bench.parse(["--addr", "h:9", "--direct", "--pipeline", "4", "--ops", "1"]).loadOptions()
        XCTAssertTrue(direct.direct)
        XCTAssertEqual(direct.pipelineDepth, 4)
    }

    /// Each bad command line is refused with a message that names the flag at fault.
    func testBadCommandLinesAreRefused() {
        let cases: [(arguments: [String], mentions: String)] = [
            (["--addr", "h:1"], "--duration or --ops"),
            (["--addr", "h:1", "--ops", "1", "--duration", "1"], "--duration or --ops"),
            (["--ops", "1"], "--addr"),
            (["--addr", "h", "--ops", "1"], "HOST:PORT"),
            (["--addr", "h:1,", "--ops", "1"], "HOST:PORT"),
            (["--addr", "h:70000", "--ops", "1"], "HOST:PORT"),
            (["--addr", "h:1", "--ops", "0"], "--ops"),
            (["--addr", "h:1", "--duration", "-1"], "--duration"),
            (["--addr", "h:1", "--ops", "1", "--reads", "1.5"], "--reads"),
            (["--addr", "h:1", "--ops", "1", "--rate", "0"], "--rate"),
            (["--addr", "h:1", "--ops", "1", "--rate", "abc"], "--rate"),
            (["--addr", "h:1", "--ops", "1", "--rate", "100", "--pipeline", "4"], "--pipeline and --rate"),
            (["--addr", "h:1", "--ops", "1", "--pipeline", "0"], "--pipeline"),
            (["--addr", "h:1", "--ops", "1", "--protocol", "memcached"], "--protocol"),
            (["--addr", "h:1", "--ops", "1", "--protocol", "redis", "--stale"], "--stale"),
            (["--addr", "h:1", "--ops", "1", "--protocol", "redis", "--direct"], "--direct"),
            (["--addr", "h:1", "--ops", "1", "--rate", "100", "--direct"], "--direct and --rate"),
            (["--addr", "h:1", "--ops", "1", "--key-prefix", "a b"], "--key-prefix"),
            (["--addr", "h:1", "--ops", "1", "--connections", "0"], "--connections"),
            (["--addr", "h:1", "--ops", "1", "--bogus"], "--bogus"),
            (["--addr", "h:1", "--ops", "1", "extra"], "extra"),
        ]
        for (arguments, mentions) in cases {
            do {
                _ = try Bench.parse(arguments)
                XCTFail("accepted: \(arguments)")
            } catch {
                let message = Bench.message(for: error)
                XCTAssertTrue(message.contains(mentions), "\(arguments): '\(message)' does not mention \(mentions)")
                XCTAssertNotEqual(Bench.exitCode(for: error), .success, "\(arguments)")
            }
        }
    }

    func testServeNamesTheNodeIDItRefuses() {
        XCTAssertThrowsError(try Serve.parse(["--node-id", "0"])) { error in
            let message = Serve.message(for: error)
            XCTAssertTrue(message.contains("--node-id"), message)
            XCTAssertFalse(message.contains("--members"), message)
        }
        XCTAssertNoThrow(try Serve.parse(["--node-id", "4"]))
    }
}
