#if canImport(Glibc)
import Glibc
#endif

/// One connection of the load generator, driven by its thread's poll loop: the requests in
/// flight (the times they count from, oldest first), the bytes read but not yet split into
/// answers, and its own random keys. A plain value owned by one thread.
struct LoadConnection {
    let socket: Int32
    let name: String
    let loadProtocol: LoadProtocol
    private var sentAt: [UInt64] = []
    private var head = 0
    private(set) var outstanding = 0
    private var buffer: [UInt8] = []
    private var start = 0
    private var replies = RedisReplyParser()
    private var random: UInt64
    /// With `--sequential`: the next key and the step to the one after (the connection count),
    /// so that the connections write every key once between them.
    private var sequence: (next: UInt64, stride: UInt64)?
    var isOpen = true

    init(socket: Int32, name: String, seed: UInt64, loadProtocol: LoadProtocol = .line,
         sequence: (first: UInt64, stride: UInt64)? = nil) {
        self.socket = socket
        self.name = name
        self.loadProtocol = loadProtocol
        self.sequence = sequence.map { ($0.first, max(1, $0.stride)) }
        random = seed | 1
        buffer.reserveCapacity(1 << 16)
    }

    /// xorshift64*: cheap, and good enough to spread keys.
    private mutating func nextRandom() -> UInt64 {
        random ^= random >> 12
        random ^= random << 25
        random ^= random >> 27
        return random &* 2_685_821_657_736_338_717
    }

    /// Appends one request to `output`; its latency will count from `countFrom`, the time it is
    /// sent in closed-loop load and the time it was due in open-loop load (`OpenLoopSchedule`).
    mutating func appendRequest(to output: inout [UInt8], options: LoadGenerator.Options, value: [UInt8], countFrom: UInt64) {
        let key: UInt64
        if let current = sequence {
            key = current.next % UInt64(max(1, options.keyCount))
            sequence = (current.next &+ current.stride, current.stride)
        } else {
            key = nextRandom() % UInt64(max(1, options.keyCount))
        }
        let isRead = options.readFraction > 0 && Double(nextRandom() >> 11) / Double(1 << 53) < options.readFraction
        switch loadProtocol {
        case .line:
            if isRead {
                output.append(contentsOf: options.stale ? Self.staleGet : Self.get)
            } else {
                output.append(contentsOf: Self.put)
            }
            output.append(contentsOf: options.keyPrefixBytes)
            output.append(contentsOf: String(key).utf8)
            if !isRead {
                output.append(UInt8(ascii: " "))
                output.append(contentsOf: value)
            }
            output.append(UInt8(ascii: "\n"))
        case .redis:
            let keyBytes = options.keyPrefixBytes + Array(String(key).utf8)
            if isRead {
                RedisRequestEncoder.appendGet(key: keyBytes, to: &output)
            } else {
                RedisRequestEncoder.appendSet(key: keyBytes, value: value, to: &output)
            }
        }
        sentAt.append(countFrom)
        outstanding += 1
    }

    /// Takes in bytes read from the socket and calls `answered(latencyNanoseconds, isError)`
    /// for every complete answer. False when the bytes are not answers of the protocol (the
    /// caller then closes the connection).
    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: UInt64, _ answered: (UInt64, Bool) -> Void) -> Bool {
        switch loadProtocol {
        case .line:
            receiveLines(bytes, now: now, answered)
        case .redis:
            replies.append(bytes)
            do {
                while let reply = try replies.next() { complete(now: now, isError: reply.isError, answered) }
            } catch {
                return false
            }
        }
        if head > 4096 {
            sentAt.removeFirst(head)
            head = 0
        }
        return true
    }

    private mutating func receiveLines(_ bytes: UnsafeRawBufferPointer, now: UInt64, _ answered: (UInt64, Bool) -> Void) {
        buffer.append(contentsOf: bytes)
        while let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let isError = newline - start >= 3 && buffer[start] == UInt8(ascii: "E") && buffer[start + 1] == UInt8(ascii: "R")
                && buffer[start + 2] == UInt8(ascii: "R")
            start = newline + 1
            complete(now: now, isError: isError, answered)
        }
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 1 << 15 {
            buffer.removeFirst(start)
            start = 0
        }
    }

    /// The oldest request in flight got its answer (answers come back in request order).
    private mutating func complete(now: UInt64, isError: Bool, _ answered: (UInt64, Bool) -> Void) {
        guard head < sentAt.count else { return }
        let latency = now > sentAt[head] ? now - sentAt[head] : 0
        head += 1
        outstanding -= 1
        answered(latency, isError)
    }

    /// The connection closed: whatever was in flight is lost.
    mutating func closed() -> Int {
        let lost = outstanding
        outstanding = 0
        isOpen = false
        return lost
    }

    static let put = Array("PUT ".utf8)
    static let get = Array("GET ".utf8)
    static let staleGet = Array("STALE-GET ".utf8)
}
