#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Disk space for the LMDB data file, allocated (`posix_fallocate`) before a commit needs it.
///
/// LMDB writes a commit's pages with `pwrite`. When the disk fills in the middle of such a
/// write, the write comes back short and LMDB reports `EIO`, which cannot be told apart from a
/// failing disk, and a failing disk must stop the host. Reserving the space before the
/// transaction begins turns a full disk into a clean `ENOSPC` (or `EFBIG` past a file size
/// limit) from `posix_fallocate`: nothing of the transaction is written, the store stays
/// usable, and its callers are refused until there is room. LMDB then only writes into space
/// the file already has. Only the writer thread uses it.
struct DataFileReservation {
    /// Reserved in steps of at least this, so that a busy store calls `posix_fallocate` rarely.
    static let stepBytesMin = 8 << 20

    /// How far the file is known to be allocated.
    private(set) var reservedBytes = 0
    /// False on a filesystem without `posix_fallocate` (then LMDB grows the file as before).
    private var isSupported = true

    /// Makes sure the file has `headroomBytes` allocated past the last page LMDB has used (but
    /// not past the map, which LMDB never writes beyond). Throws `LMDBFailure` with the
    /// allocation's error (`ENOSPC`, `EDQUOT`, `EFBIG`: a full disk) when the room is not there.
    mutating func ensure(_ environment: Environment, headroomBytes: Int) throws {
        guard isSupported else { return }
        let needed = min(environment.usedBytes() + headroomBytes, environment.mapSizeBytes)
        guard needed > reservedBytes else { return }
        guard let descriptor = environment.dataFileDescriptor() else { return }
        let generous = min(needed + max(Self.stepBytesMin, needed / 8), environment.mapSizeBytes)
        var code = posix_fallocate(descriptor, 0, off_t(generous))
        if code == 0 {
            reservedBytes = generous
            return
        }
        if code == EOPNOTSUPP || code == ENOSYS || code == EINVAL {
            isSupported = false
            return
        }
        // Less than the generous step may still fit.
        code = posix_fallocate(descriptor, 0, off_t(needed))
        if code == 0 {
            reservedBytes = needed
            return
        }
        throw LMDBFailure(code: code, operation: "posix_fallocate")
    }
}
