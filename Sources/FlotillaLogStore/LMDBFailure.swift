import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An LMDB (or errno) return code with the call that produced it. Internal: the store turns it
/// into a `LogStoreError` at its edge, where it knows whether the failure is recoverable.
struct LMDBFailure: Error {
    let code: Int32
    let operation: String

    var message: String { String(cString: mdb_strerror(code)) }

    var isMapFull: Bool { code == MDB_MAP_FULL }

    /// Codes that mean the file system ran out of room: recoverable once space is freed.
    var isDiskFull: Bool { code == ENOSPC || code == EDQUOT || code == EFBIG }

    /// Throws unless `code` is `MDB_SUCCESS`.
    static func check(_ code: Int32, _ operation: @autoclosure () -> String) throws {
        if code != MDB_SUCCESS { throw LMDBFailure(code: code, operation: operation()) }
    }

    func storeError(path: String) -> LogStoreError {
        if isDiskFull { return .diskFull(path: path, code: code) }
        return .storageFailed(operation: operation, code: code, message: message)
    }
}
