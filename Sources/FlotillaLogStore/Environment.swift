import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The LMDB environment of one data dir and its three databases.
///
/// Opened with `MDB_NOTLS` so that read transactions may run on any thread (Swift tasks hop
/// threads) and with `MDB_NOMETASYNC` so that a commit costs one fdatasync instead of two; the
/// writer makes each commit durable itself (see `Writer`). A read-write lock keeps readers out
/// while the map is resized or the environment closed, which LMDB requires to happen with no
/// transaction active in the process.
final class Environment: @unchecked Sendable {
    let handle: OpaquePointer
    let path: String
    private(set) var entries: MDB_dbi = 0
    private(set) var replicas: MDB_dbi = 0
    private(set) var host: MDB_dbi = 0
    private(set) var state: MDB_dbi = 0
    /// Whether the databases existed before this open.
    private(set) var existed = false
    /// Written by the writer thread only (and read by it and by `close`).
    private(set) var mapSizeBytes: Int
    /// LMDB's page size, read once at open (it is fixed for the environment's life).
    private(set) var pageSizeBytes = 4096
    private let gate: UnsafeMutablePointer<pthread_rwlock_t>
    private var isClosed = false

    init(path: String, configuration: LogStoreConfiguration) throws {
        self.path = path
        var environment: OpaquePointer?
        try LMDBFailure.check(mdb_env_create(&environment), "mdb_env_create")
        handle = environment!
        gate = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
        gate.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(gate, nil)
        mapSizeBytes = configuration.mapSizeBytesInitial
        do {
            try LMDBFailure.check(mdb_env_set_maxdbs(handle, 8), "mdb_env_set_maxdbs")
            try LMDBFailure.check(mdb_env_set_maxreaders(handle, UInt32(configuration.readersMax)), "mdb_env_set_maxreaders")
            try LMDBFailure.check(mdb_env_set_mapsize(handle, configuration.mapSizeBytesInitial), "mdb_env_set_mapsize")
            let flags = UInt32(MDB_NOTLS) | UInt32(MDB_NOMETASYNC)
            let code = mdb_env_open(handle, path, flags, 0o644)
            if code == MDB_INVALID || code == MDB_VERSION_MISMATCH {
                throw LogStoreError.formatVersionMismatch(path: path, found: nil, expected: configuration.formatVersion)
            }
            if code == ENOSPC || code == EDQUOT || code == EFBIG {
                throw LogStoreError.diskFull(path: path, code: code)
            }
            try LMDBFailure.check(code, "mdb_env_open \(path)")
            // Reader slots left by a process that died (SIGKILL) would pin old pages and stop
            // LMDB from reusing them; clear them.
            var staleReaders: Int32 = 0
            try LMDBFailure.check(mdb_reader_check(handle, &staleReaders), "mdb_reader_check")
            // An existing file larger than the configured start keeps its size.
            var information = MDB_envinfo()
            mdb_env_info(handle, &information)
            mapSizeBytes = information.me_mapsize
            var statistics = MDB_stat()
            mdb_env_stat(handle, &statistics)
            pageSizeBytes = Int(statistics.ms_psize)
            try openDatabases(formatVersion: configuration.formatVersion)
        } catch {
            close()
            if let failure = error as? LMDBFailure { throw failure.storeError(path: path) }
            throw error
        }
    }

    deinit {
        close()
        pthread_rwlock_destroy(gate)
        gate.deallocate()
    }

    /// Opens the three databases, creating them in a new environment, and refuses an LMDB file
    /// that holds anything else (it is not a Flotilla log store).
    private func openDatabases(formatVersion: UInt32) throws {
        let transaction = try beginWrite()
        do {
            var hostDatabase: MDB_dbi = 0
            let code = mdb_dbi_open(transaction.handle, "host", 0, &hostDatabase)
            if code == MDB_NOTFOUND {
                var mainDatabase: MDB_dbi = 0
                try LMDBFailure.check(mdb_dbi_open(transaction.handle, nil, 0, &mainDatabase), "mdb_dbi_open")
                var statistics = MDB_stat()
                try LMDBFailure.check(mdb_stat(transaction.handle, mainDatabase, &statistics), "mdb_stat")
                if statistics.ms_entries != 0 {
                    throw LogStoreError.formatVersionMismatch(path: path, found: nil, expected: formatVersion)
                }
                try LMDBFailure.check(mdb_dbi_open(transaction.handle, "host", UInt32(MDB_CREATE), &hostDatabase), "mdb_dbi_open host")
            } else {
                try LMDBFailure.check(code, "mdb_dbi_open host")
                // A host database without records is a creation interrupted before the identity
                // was written: nothing else can have been stored yet, so it counts as new.
                var statistics = MDB_stat()
                try LMDBFailure.check(mdb_stat(transaction.handle, hostDatabase, &statistics), "mdb_stat host")
                existed = statistics.ms_entries > 0
            }
            host = hostDatabase
            var database: MDB_dbi = 0
            try LMDBFailure.check(mdb_dbi_open(transaction.handle, "entries", UInt32(MDB_CREATE), &database), "mdb_dbi_open entries")
            entries = database
            try LMDBFailure.check(mdb_dbi_open(transaction.handle, "replicas", UInt32(MDB_CREATE), &database), "mdb_dbi_open replicas")
            replicas = database
            try LMDBFailure.check(mdb_dbi_open(transaction.handle, "state", UInt32(MDB_CREATE), &database), "mdb_dbi_open state")
            state = database
            try commit(transaction)
            try sync()
        } catch {
            abort(transaction)
            throw error
        }
    }

    /// Runs `body` in a read-only transaction; safe from any thread, concurrently with the
    /// writer and other readers.
    func withReadTransaction<Result>(_ body: (Transaction) throws -> Result) throws -> Result {
        pthread_rwlock_rdlock(gate)
        defer { pthread_rwlock_unlock(gate) }
        guard !isClosed else { throw LogStoreError.closed }
        var transaction: OpaquePointer?
        let code = mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &transaction)
        if code != MDB_SUCCESS { throw LMDBFailure(code: code, operation: "mdb_txn_begin read").storeError(path: path) }
        defer { mdb_txn_abort(transaction) }
        do {
            return try body(Transaction(handle: transaction!))
        } catch let failure as LMDBFailure {
            throw failure.storeError(path: path)
        }
    }

    /// Begins the write transaction. Only the writer thread (and `init`) call this.
    func beginWrite() throws -> Transaction {
        var transaction: OpaquePointer?
        try LMDBFailure.check(mdb_txn_begin(handle, nil, 0, &transaction), "mdb_txn_begin")
        return Transaction(handle: transaction!)
    }

    /// Commits: writes the dirty pages, fdatasyncs them, then writes (without syncing) the meta
    /// page that makes them visible. The commit is durable after the next `commit` or `sync`.
    func commit(_ transaction: Transaction) throws {
        try LMDBFailure.check(mdb_txn_commit(transaction.handle), "mdb_txn_commit")
    }

    func abort(_ transaction: Transaction) {
        mdb_txn_abort(transaction.handle)
    }

    /// fdatasyncs the file: makes the last commit's meta page, and so the last commit, durable.
    func sync() throws {
        try LMDBFailure.check(mdb_env_sync(handle, 1), "mdb_env_sync")
    }

    /// Grows the map. The caller (the writer) has no transaction open; readers wait meanwhile.
    func setMapSize(_ sizeBytes: Int) throws {
        pthread_rwlock_wrlock(gate)
        defer { pthread_rwlock_unlock(gate) }
        try LMDBFailure.check(mdb_env_set_mapsize(handle, sizeBytes), "mdb_env_set_mapsize")
        var information = MDB_envinfo()
        mdb_env_info(handle, &information)
        mapSizeBytes = information.me_mapsize
    }

    /// The end of the last page LMDB has used in the data file (its high-water mark): new pages
    /// of a commit that finds no free page to reuse go after it.
    func usedBytes() -> Int {
        var information = MDB_envinfo()
        mdb_env_info(handle, &information)
        return (Int(information.me_last_pgno) + 1) * pageSizeBytes
    }



    /// The data file's descriptor, for reserving its space (`DataFileReservation`).
    func dataFileDescriptor() -> Int32? {
        var descriptor: mdb_filehandle_t = -1
        guard mdb_env_get_fd(handle, &descriptor) == 0, descriptor >= 0 else { return nil }
        return descriptor
    }

    /// The size of the data file on disk (it never shrinks: LMDB reuses freed pages instead).
    func fileSizeBytes() -> Int {
        var status = stat()
        guard stat(path + "/data.mdb", &status) == 0 else { return 0 }
        return Int(status.st_size)
    }

    /// Closes the environment once every reader has left; later reads throw `closed`.
    func close() {
        pthread_rwlock_wrlock(gate)
        defer { pthread_rwlock_unlock(gate) }
        guard !isClosed else { return }
        isClosed = true
        mdb_env_close(handle)
    }
}
