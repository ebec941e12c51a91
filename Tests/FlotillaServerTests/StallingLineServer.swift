import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A line-protocol server that stalls: on its one connection it reads request lines without
/// answering until `holdUntil` of them have arrived, then answers them all `OK` (and every
/// later one at once). It shows what a load generator keeps sending while nothing comes back.
final class StallingLineServer: Sendable {
    let port: Int
    private let listener: Int32
    private let record = FirstAnswerRecord()

    /// Lines received before the first answer went out (nil: none answered yet).
    var receivedBeforeFirstAnswer: Int? { record.received.withLock { $0 } }

    private final class FirstAnswerRecord: Sendable {
        let received = Mutex<Int?>(nil)
    }

    init(holdUntil: Int) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 4) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let record = self.record
        Thread {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            var received = 0
            var answered = 0
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return }
                received += chunk[0..<count].filter { $0 == UInt8(ascii: "\n") }.count
                guard received >= holdUntil else { continue }
                if answered == 0 { record.received.withLock { $0 = received } }
                let answers = Array(String(repeating: "OK\n", count: received - answered).utf8)
                answered = received
                _ = answers.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        }.start()
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
