import FlotillaServer
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking line-protocol client over a real socket, for the socket tests.
final class TestClient {
    private(set) var socket: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        guard let socket = LoadGenerator.connect("127.0.0.1", port) else { throw CancellationError() }
        self.socket = socket
        // A broken server must fail the test, not hang it.
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { disconnect() }

    /// Closes the socket, as a client does once it has read the server's end.
    func disconnect() {
        if socket >= 0 { close(socket) }
        socket = -1
    }

    func send(_ text: String) { _ = LoadGenerator.writeAll(socket, Array(text.utf8)) }

    func send(bytes: [UInt8]) { _ = LoadGenerator.writeAll(socket, bytes) }

    /// Shuts down the sending side: the server sees the end of the requests.
    func finishSending() { _ = shutdown(socket, Int32(SHUT_WR)) }

    /// One answer line without its `\n`, or nil when the server closed the connection.
    func line() -> String? {
        lineBytes().map { String(decoding: $0, as: UTF8.self) }
    }

    func lineBytes() -> [UInt8]? {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = Array(buffer[0..<newline])
                buffer.removeFirst(newline + 1)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return nil }
            buffer += chunk[0..<count]
        }
    }

    func call(_ text: String) -> String? {
        send(text + "\n")
        return line()
    }
}
