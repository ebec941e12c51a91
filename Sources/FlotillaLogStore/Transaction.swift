import CLMDB

/// A thin view of an LMDB transaction. Buffers returned by reads point into the map and are valid
/// only until the transaction ends, so callers decode them before returning.
struct Transaction {
    let handle: OpaquePointer

    /// The value stored under `key`, or nil.
    func value<Result>(
        _ database: MDB_dbi, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result? {
        var keyBytes = key
        return try keyBytes.withUnsafeMutableBytes { keyBuffer in
            var keyValue = MDB_val(mv_size: keyBuffer.count, mv_data: keyBuffer.baseAddress)
            var dataValue = MDB_val()
            let code = mdb_get(handle, database, &keyValue, &dataValue)
            if code == MDB_NOTFOUND { return nil }
            try LMDBFailure.check(code, "mdb_get")
            return try body(UnsafeRawBufferPointer(start: dataValue.mv_data, count: dataValue.mv_size))
        }
    }

    func put(_ database: MDB_dbi, _ key: [UInt8], _ value: [UInt8]) throws {
        var keyBytes = key
        var valueBytes = value
        try keyBytes.withUnsafeMutableBytes { keyBuffer in
            try valueBytes.withUnsafeMutableBytes { valueBuffer in
                var keyValue = MDB_val(mv_size: keyBuffer.count, mv_data: keyBuffer.baseAddress)
                var dataValue = MDB_val(mv_size: valueBuffer.count, mv_data: valueBuffer.baseAddress)
                try LMDBFailure.check(mdb_put(handle, database, &keyValue, &dataValue, 0), "mdb_put")
            }
        }
    }

    /// Deletes `key`; absent keys are not an error.
    func delete(_ database: MDB_dbi, _ key: [UInt8]) throws {
        var keyBytes = key
        try keyBytes.withUnsafeMutableBytes { keyBuffer in
            var keyValue = MDB_val(mv_size: keyBuffer.count, mv_data: keyBuffer.baseAddress)
            let code = mdb_del(handle, database, &keyValue, nil)
            if code == MDB_NOTFOUND { return }
            try LMDBFailure.check(code, "mdb_del")
        }
    }

    func cursor(_ database: MDB_dbi) throws -> Cursor {
        var cursor: OpaquePointer?
        try LMDBFailure.check(mdb_cursor_open(handle, database, &cursor), "mdb_cursor_open")
        return Cursor(handle: cursor!)
    }
}
