import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A thin view of an LMDB cursor, closed by its owner with `close()` before the transaction ends.
struct Cursor {
    let handle: OpaquePointer

    /// A key and value the cursor points at; valid until the cursor moves or the transaction ends.
    struct Item {
        let key: UnsafeRawBufferPointer
        let value: UnsafeRawBufferPointer
    }

    func close() {
        mdb_cursor_close(handle)
    }

    /// Moves to the first key at or after `key`.
    func seek(atOrAfter key: [UInt8]) throws -> Item? {
        var keyBytes = key
        return try keyBytes.withUnsafeMutableBytes { keyBuffer in
            var keyValue = MDB_val(mv_size: keyBuffer.count, mv_data: keyBuffer.baseAddress)
            return try move(&keyValue, MDB_SET_RANGE)
        }
    }

    func next() throws -> Item? {
        var keyValue = MDB_val()
        return try move(&keyValue, MDB_NEXT)
    }

    func previous() throws -> Item? {
        var keyValue = MDB_val()
        return try move(&keyValue, MDB_PREV)
    }

    /// The item under the cursor (after a delete: the one that followed the deleted item).
    func current() throws -> Item? {
        var keyValue = MDB_val()
        var dataValue = MDB_val()
        let code = mdb_cursor_get(handle, &keyValue, &dataValue, MDB_GET_CURRENT)
        // EINVAL: the delete emptied the database and left the cursor unpositioned.
        if code == MDB_NOTFOUND || code == EINVAL { return nil }
        try LMDBFailure.check(code, "mdb_cursor_get current")
        return Item(
            key: UnsafeRawBufferPointer(start: keyValue.mv_data, count: keyValue.mv_size),
            value: UnsafeRawBufferPointer(start: dataValue.mv_data, count: dataValue.mv_size))
    }

    func last() throws -> Item? {
        var keyValue = MDB_val()
        return try move(&keyValue, MDB_LAST)
    }

    func first() throws -> Item? {
        var keyValue = MDB_val()
        return try move(&keyValue, MDB_FIRST)
    }

    /// Deletes the item under the cursor; the cursor then points at the following item.
    func deleteCurrent() throws {
        try LMDBFailure.check(mdb_cursor_del(handle, 0), "mdb_cursor_del")
    }

    /// Stores `key` with a value of `valueBytes` bytes that `fill` writes in place, saving a copy
    /// of every entry payload.
    func put(key: UnsafeRawBufferPointer, valueBytes: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) throws {
        var keyValue = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var dataValue = MDB_val(mv_size: valueBytes, mv_data: nil)
        try LMDBFailure.check(mdb_cursor_put(handle, &keyValue, &dataValue, UInt32(MDB_RESERVE)), "mdb_cursor_put")
        fill(UnsafeMutableRawBufferPointer(start: dataValue.mv_data, count: valueBytes))
    }

    private func move(_ keyValue: inout MDB_val, _ operation: MDB_cursor_op) throws -> Item? {
        var dataValue = MDB_val()
        let code = mdb_cursor_get(handle, &keyValue, &dataValue, operation)
        if code == MDB_NOTFOUND { return nil }
        try LMDBFailure.check(code, "mdb_cursor_get")
        return Item(
            key: UnsafeRawBufferPointer(start: keyValue.mv_data, count: keyValue.mv_size),
            value: UnsafeRawBufferPointer(start: dataValue.mv_data, count: dataValue.mv_size))
    }
}
