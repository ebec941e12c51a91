import FlotillaServer
import XCTest

/// Requests as Redis clients send them: arrays of bulk strings, binary safe.
final class RedisRequestEncoderTests: XCTestCase {
    func testSetAndGet() {
        var output: [UInt8] = []
        RedisRequestEncoder.appendSet(key: Array("key-12".utf8), value: Array("vvvv".utf8), to: &output)
        RedisRequestEncoder.appendGet(key: Array("key-12".utf8), to: &output)
        XCTAssertEqual(String(decoding: output, as: UTF8.self),
                       "*3\r\n$3\r\nSET\r\n$6\r\nkey-12\r\n$4\r\nvvvv\r\n*2\r\n$3\r\nGET\r\n$6\r\nkey-12\r\n")
    }

    func testBinaryAndEmptyArguments() {
        var output: [UInt8] = []
        RedisRequestEncoder.appendCommand([Array("SET".utf8), [0, 13, 10, 32], []], to: &output)
        XCTAssertEqual(output, Array("*3\r\n$3\r\nSET\r\n$4\r\n".utf8) + [0, 13, 10, 32] + Array("\r\n$0\r\n\r\n".utf8))
    }
}
