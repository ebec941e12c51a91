import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking line-protocol client on a real TCP socket to 127.0.0.1, with a receive timeout.
/// Not thread-safe: one thread per client.
final class LineClient: @unchecked Sendable {
    let port: Int
    private(set) var fd: Int32
    private var buffer: [UInt8] = []

    /// Connects, or returns nil when nothing accepts on `port`.
    init?(port: Int, timeoutSeconds: Double = 15) {
        self.port = port
        #if os(Linux)
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            posixClose(fd)
            return nil
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        setTimeout(timeoutSeconds)
    }

    deinit { close() }

    func setTimeout(_ seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func close() {
        if fd >= 0 {
            posixClose(fd)
            fd = -1
        }
    }

    /// Writes every byte; false when the connection failed.
    @discardableResult
    func send(bytes: [UInt8]) -> Bool {
        guard fd >= 0 else { return false }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { posixSend(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// Sends `line` and its `\n`.
    @discardableResult
    func send(_ line: String) -> Bool { send(bytes: Array((line + "\n").utf8)) }

    /// Sends many lines in one write (pipelining).
    @discardableResult
    func send(lines: [String]) -> Bool { send(bytes: Array((lines.joined(separator: "\n") + "\n").utf8)) }

    /// The next answer line (without its `\n`), or nil on EOF, error or timeout.
    func readLine() -> String? {
        guard fd >= 0 else { return nil }
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[0..<newline], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }

    /// True when the peer closed the connection (EOF) within `timeoutSeconds`, with nothing unread.
    func isClosedByPeer(timeoutSeconds: Double = 5) -> Bool {
        setTimeout(timeoutSeconds)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
            // Discard unexpected data and keep waiting for the close.
        }
    }

    /// One request, one answer.
    func call(_ line: String) -> String? {
        guard send(line) else { return nil }
        return readLine()
    }

    /// Pipelines `lines` (in batches) and returns the answers in order; nil if the connection broke.
    func pipeline(_ lines: [String], batch: Int = 200) -> [String]? {
        var answers: [String] = []
        answers.reserveCapacity(lines.count)
        var start = 0
        while start < lines.count {
            let chunk = Array(lines[start..<min(start + batch, lines.count)])
            guard send(lines: chunk) else { return nil }
            for _ in chunk {
                guard let answer = readLine() else { return nil }
                answers.append(answer)
            }
            start += chunk.count
        }
        return answers
    }
}

#if canImport(Glibc)
private func posixClose(_ fd: Int32) { _ = Glibc.close(fd) }
private func posixSend(_ fd: Int32, _ pointer: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int { Glibc.send(fd, pointer, count, flags) }
#else
private func posixClose(_ fd: Int32) { _ = Darwin.close(fd) }
private func posixSend(_ fd: Int32, _ pointer: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int { Darwin.send(fd, pointer, count, flags) }
private let MSG_NOSIGNAL: Int32 = 0
#endif
