extension StoredReplicaRecord {
    func encoded() -> [UInt8] {
        var bytes: [UInt8] = [role.rawValue, origin.rawValue]
        bytes.appendLengthPrefixed(payload)
        return bytes
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = ByteReader(bytes)
        let roleValue = try reader.readUInt8()
        let originValue = try reader.readUInt8()
        guard let role = ReplicaRole(rawValue: roleValue) else {
            throw LogStoreError.corrupt("unknown replica role \(roleValue)")
        }
        guard let origin = ReplicaOrigin(rawValue: originValue) else {
            throw LogStoreError.corrupt("unknown replica origin \(originValue)")
        }
        self.init(role: role, origin: origin, payload: try reader.readLengthPrefixed())
    }
}
