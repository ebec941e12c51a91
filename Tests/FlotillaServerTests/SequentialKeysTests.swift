@testable import FlotillaServer
import XCTest

/// `flotilla bench --sequential`: connection `i` of `n` writes keys `i`, `i + n`, ... so that
/// `--ops` equal to `--keys` writes every key exactly once between them (loading data).
final class SequentialKeysTests: XCTestCase {
    func testTheConnectionsWriteEveryKeyOnceBetweenThem() {
        var options = LoadGenerator.Options(addresses: [("127.0.0.1", 1)])
        options.keyCount = 12
        options.keyPrefix = "k-"
        var written: [String] = []
        for index in 0..<3 {
            var connection = LoadConnection(socket: -1, name: "test", seed: 1, sequence: (UInt64(index), 3))
            var output: [UInt8] = []
            for _ in 0..<4 { connection.appendRequest(to: &output, options: options, value: Array("v".utf8), countFrom: 0) }
            let lines = String(decoding: output, as: UTF8.self).split(separator: "\n")
            XCTAssertEqual(lines.first.map(String.init), "PUT k-\(index) v")
            written += lines.map { String($0.split(separator: " ")[1]) }
        }
        XCTAssertEqual(Set(written), Set((0..<12).map { "k-\($0)" }))
        XCTAssertEqual(written.count, 12)
    }

    func testKeysWrapAtTheKeyCount() {
        var options = LoadGenerator.Options(addresses: [("127.0.0.1", 1)])
        options.keyCount = 2
        var connection = LoadConnection(socket: -1, name: "test", seed: 1, sequence: (1, 1))
        var output: [UInt8] = []
        for _ in 0..<3 { connection.appendRequest(to: &output, options: options, value: [], countFrom: 0) }
        XCTAssertEqual(String(decoding: output, as: UTF8.self), "PUT key-1 \nPUT key-0 \nPUT key-1 \n")
    }
}
