#if canImport(Glibc)
import Glibc
#endif

/// Buffered line reads from a blocking socket.
public struct SocketLineReader {
    let socket: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    public init(socket: Int32) { self.socket = socket }

    public mutating func readLine() -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                if start > 1 << 16 {
                    buffer.removeFirst(start)
                    start = 0
                }
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }
}
