import FlotillaHost
import FlotillaServer

/// The binary form of a client request relayed between hosts (over the raft transport, since
/// hosts know each other's raft addresses only), with a hop count that stops loops.
enum ForwardCodec {
    static func encode(_ request: ClientRequest, hops: UInt8) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        writer.write(hops)
        switch request {
        case .put(let key, let value): writer.write(UInt8(1)); writer.writeBlob(key); writer.writeBlob(value)
        case .get(let key): writer.write(UInt8(2)); writer.writeBlob(key)
        case .staleGet(let key): writer.write(UInt8(3)); writer.writeBlob(key)
        case .delete(let key): writer.write(UInt8(4)); writer.writeBlob(key)
        case .compareAndSet(let key, let expected, let new):
            writer.write(UInt8(5)); writer.writeBlob(key); writer.writeBlob(expected); writer.writeBlob(new)
        case .shard(let key): writer.write(UInt8(6)); writer.writeBlob(key)
        case .ping: writer.write(UInt8(7))
        case .status(let shard): writer.write(UInt8(8)); writer.write(shard)
        case .addObserver(let shard, let node, let address):
            writer.write(UInt8(9)); writer.write(shard); writer.write(node); writer.writeString(address)
        case .promote(let shard, let node): writer.write(UInt8(10)); writer.write(shard); writer.write(node)
        case .remove(let shard, let node): writer.write(UInt8(11)); writer.write(shard); writer.write(node)
        case .transfer(let shard, let node): writer.write(UInt8(12)); writer.write(shard); writer.write(node)
        case .snapshot(let shard): writer.write(UInt8(13)); writer.write(shard)
        case .export(let shard, let directory): writer.write(UInt8(14)); writer.write(shard); writer.writeString(directory)
        case .increment(let key, let delta): writer.write(UInt8(15)); writer.writeBlob(key); writer.write(UInt64(bitPattern: delta))
        case .set(let key, let value, let condition, let expiry, let returnsPrevious):
            writer.write(UInt8(16)); writer.writeBlob(key); writer.writeBlob(value); writer.write(condition.rawValue)
            KeyValueEntry.encode(expiry, into: &writer); writer.write(returnsPrevious)
        case .deleteCounting(let key): writer.write(UInt8(17)); writer.writeBlob(key)
        case .append(let key, let suffix): writer.write(UInt8(18)); writer.writeBlob(key); writer.writeBlob(suffix)
        case .expire(let key, let expiry): writer.write(UInt8(19)); writer.writeBlob(key); KeyValueEntry.encode(expiry, into: &writer)
        case .persist(let key): writer.write(UInt8(20)); writer.writeBlob(key)
        case .timeToLive(let key): writer.write(UInt8(21)); writer.writeBlob(key)
        case .scan(let shard, let position, let count):
            writer.write(UInt8(22)); writer.write(shard); writer.write(position); writer.write(UInt64(max(0, count)))
        case .keyCount(let shard): writer.write(UInt8(23)); writer.write(shard)
        case .shardCount: writer.write(UInt8(24))
        case .replicaStatus(let shard, let node): writer.write(UInt8(25)); writer.write(shard); writer.write(node)
        case .placement: writer.write(UInt8(26))
        case .addHost(let node, let address): writer.write(UInt8(27)); writer.write(node); writer.writeString(address)
        case .rebalance: writer.write(UInt8(28))
        case .drain(let node): writer.write(UInt8(29)); writer.write(node)
        case .clusterMap: writer.write(UInt8(30))
        // Tags from 40 on: the routing requests (`ROUTES`), apart from the cluster map's.
        case .routes: writer.write(UInt8(40))
        case .clientAddresses: writer.write(UInt8(41))
        }
        return writer.bytes
    }

    static func decodeRequest(_ bytes: [UInt8]) throws(DecodingError) -> (request: ClientRequest, hops: UInt8) {
        var reader = ByteReader(bytes)
        let hops = try reader.readByte()
        let request: ClientRequest
        switch try reader.readByte() {
        case 1: request = .put(key: try reader.readBlob(), value: try reader.readBlob())
        case 2: request = .get(key: try reader.readBlob())
        case 3: request = .staleGet(key: try reader.readBlob())
        case 4: request = .delete(key: try reader.readBlob())
        case 5: request = .compareAndSet(key: try reader.readBlob(), expected: try reader.readBlob(), new: try reader.readBlob())
        case 6: request = .shard(key: try reader.readBlob())
        case 7: request = .ping
        case 8: request = .status(shard: try reader.readUInt64())
        case 9: request = .addObserver(shard: try reader.readUInt64(), node: try reader.readUInt64(), address: try reader.readString())
        case 10: request = .promote(shard: try reader.readUInt64(), node: try reader.readUInt64())
        case 11: request = .remove(shard: try reader.readUInt64(), node: try reader.readUInt64())
        case 12: request = .transfer(shard: try reader.readUInt64(), node: try reader.readUInt64())
        case 13: request = .snapshot(shard: try reader.readUInt64())
        case 14: request = .export(shard: try reader.readUInt64(), directory: try reader.readString())
        case 15: request = .increment(key: try reader.readBlob(), delta: Int64(bitPattern: try reader.readUInt64()))
        case 16:
            let key = try reader.readBlob()
            let value = try reader.readBlob()
            guard let condition = SetCondition(rawValue: try reader.readByte()) else { throw .invalid("set condition") }
            request = .set(key: key, value: value, condition: condition, expiry: try KeyValueEntry.decodeExpiry(&reader),
                           returnsPrevious: try reader.readBool())
        case 17: request = .deleteCounting(key: try reader.readBlob())
        case 18: request = .append(key: try reader.readBlob(), suffix: try reader.readBlob())
        case 19: request = .expire(key: try reader.readBlob(), expiry: try KeyValueEntry.decodeExpiry(&reader))
        case 20: request = .persist(key: try reader.readBlob())
        case 21: request = .timeToLive(key: try reader.readBlob())
        case 22:
            let shard = try reader.readUInt64()
            let position = try reader.readUInt64()
            let count = try reader.readUInt64()
            guard count <= UInt64(Int32.max) else { throw .invalid("scan count \(count)") }
            request = .scan(shard: shard, position: position, count: Int(count))
        case 23: request = .keyCount(shard: try reader.readUInt64())
        case 24: request = .shardCount
        case 25: request = .replicaStatus(shard: try reader.readUInt64(), node: try reader.readUInt64())
        case 26: request = .placement
        case 27: request = .addHost(node: try reader.readUInt64(), address: try reader.readString())
        case 28: request = .rebalance
        case 29: request = .drain(node: try reader.readUInt64())
        case 30: request = .clusterMap
        case 40: request = .routes
        case 41: request = .clientAddresses
        case let tag: throw .invalid("forwarded request tag \(tag)")
        }
        return (request, hops)
    }

    static func encode(_ response: ClientResponse) -> [UInt8] {
        var writer = ByteWriter(capacity: 32)
        switch response {
        case .ok: writer.write(UInt8(1))
        case .okIndex(let index): writer.write(UInt8(2)); writer.write(index)
        case .exported(let index, let file): writer.write(UInt8(3)); writer.write(index); writer.writeString(file)
        case .value(let value): writer.write(UInt8(4)); writer.writeBlob(value)
        case .notFound: writer.write(UInt8(5))
        case .mismatch: writer.write(UInt8(6))
        case .shard(let shard): writer.write(UInt8(7)); writer.write(shard)
        case .pong: writer.write(UInt8(8))
        case .status(let line): writer.write(UInt8(9)); writer.writeString(line)
        case .error(let code, let message): writer.write(UInt8(10)); writer.writeString(code.rawValue); writer.writeString(message)
        case .integer(let number): writer.write(UInt8(11)); writer.write(UInt64(bitPattern: number))
        case .stored(let stored, let previous):
            writer.write(UInt8(12)); writer.write(stored); writer.write(previous != nil); writer.writeBlob(previous ?? [])
        case .keys(let keys, let next):
            writer.write(UInt8(13)); writer.write(next != nil); writer.write(next ?? 0); writer.write(UInt32(keys.count))
            for key in keys { writer.writeBlob(key) }
        }
        return writer.bytes
    }

    static func decodeResponse(_ bytes: [UInt8]) throws(DecodingError) -> ClientResponse {
        var reader = ByteReader(bytes)
        switch try reader.readByte() {
        case 1: return .ok
        case 2: return .okIndex(try reader.readUInt64())
        case 3: return .exported(index: try reader.readUInt64(), file: try reader.readString())
        case 4: return .value(try reader.readBlob())
        case 5: return .notFound
        case 6: return .mismatch
        case 7: return .shard(try reader.readUInt64())
        case 8: return .pong
        case 9: return .status(try reader.readString(limit: 1 << 20))
        case 10:
            let code = ClientErrorCode(rawValue: try reader.readString()) ?? .internalError
            return .error(code, try reader.readString(limit: 1 << 20))
        case 11: return .integer(Int64(bitPattern: try reader.readUInt64()))
        case 12:
            let stored = try reader.readBool()
            let hasPrevious = try reader.readBool()
            let previous = try reader.readBlob()
            return .stored(stored, previous: hasPrevious ? previous : nil)
        case 13:
            let hasNext = try reader.readBool()
            let next = try reader.readUInt64()
            let count = Int(try reader.readUInt32())
            var keys: [[UInt8]] = []
            keys.reserveCapacity(min(count, reader.remaining / 4))
            for _ in 0..<count { keys.append(try reader.readBlob()) }
            return .keys(keys, next: hasNext ? next : nil)
        case let tag: throw .invalid("forwarded response tag \(tag)")
        }
    }
}
