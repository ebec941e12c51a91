#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive flock(2) on a lock file in the data dir. LMDB's own lock file only coordinates
/// readers and writers of one environment and lets two processes open it, so the store takes this
/// lock first: a second opener, in this process or another, gets a clear "in use" error. The
/// kernel drops the lock when the holder dies, so a host restarted after SIGKILL opens at once.
final class DirectoryLock {
    static let fileName = "flotilla.lock"

    private var descriptor: Int32

    init(directory: String) throws {
        let path = directory + "/" + DirectoryLock.fileName
        // O_CLOEXEC: a child process spawned by the host must not inherit (and keep) the lock.
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            throw LogStoreError.storageFailed(operation: "open \(path)", code: code, message: String(cString: strerror(code)))
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            let holder = DirectoryLock.readHolder(descriptor)
            close(descriptor)
            if code == EWOULDBLOCK {
                throw LogStoreError.directoryInUse(path: directory, holderProcessID: holder)
            }
            throw LogStoreError.storageFailed(operation: "flock \(path)", code: code, message: String(cString: strerror(code)))
        }
        // Record who holds it, for the message a second opener shows.
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    deinit {
        release()
    }

    private static func readHolder(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        return Int32(text.trimmingCharacters(in: "\n "))
    }
}

private extension String {
    func trimmingCharacters(in characters: String) -> String {
        var result = Substring(self)
        while let first = result.first, characters.contains(first) { result = result.dropFirst() }
        while let last = result.last, characters.contains(last) { result = result.dropLast() }
        return String(result)
    }
}
