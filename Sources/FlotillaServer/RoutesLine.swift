/// The answer to `ROUTES`: which node leads each shard as the answering host knows it, and
/// where clients reach each host, so that a client can send a request straight to its
/// shard's leader instead of having it relayed. One line whatever the shard count (about
/// four bytes per shard: 40 KB for 10,000 shards):
///
/// `node=1 shards=4 leaders=1,3,0,2 client=1@127.0.0.1:7301,2@127.0.0.1:7302 redis=1@127.0.0.1:7379,2@127.0.0.1:7380`
///
/// - `node`: the answering host's node id.
/// - `shards`: the cluster's shard count `K`.
/// - `leaders`: `K` node ids, the `i`-th for shard `i`; 0 when the answering host holds no
///   replica of the shard or knows no leader for it. A host knows the leaders of the shards it
///   holds, so a client of a cluster where shards live on some hosts only asks several hosts.
/// - `client`, `redis`: `node@HOST:PORT` for the line protocol and RESP, for this host and each
///   leader it names that answered in time (a host that did not is left out).
///
/// It is advice, not a promise: a leader may change at any moment, and any host still serves
/// any key (SPEC). A client that follows it falls back to any host when a leader is unknown.
public struct RoutesLine: Sendable, Equatable {
    public var node: UInt64
    /// `leaders[i]` is the leader of shard `i + 1` (0: unknown).
    public var leaders: [UInt64]
    public var addresses: [UInt64: HostClientAddresses]

    public init(node: UInt64, leaders: [UInt64], addresses: [UInt64: HostClientAddresses]) {
        self.node = node
        self.leaders = leaders
        self.addresses = addresses
    }

    public var shardCount: UInt64 { UInt64(leaders.count) }

    public var line: String {
        var text = "node=\(node) shards=\(leaders.count) leaders="
        text.reserveCapacity(48 + leaders.count * 4 + addresses.count * 48)
        for (position, leader) in leaders.enumerated() {
            if position > 0 { text += "," }
            text += String(leader)
        }
        let nodes = addresses.keys.sorted()
        text += " client=" + nodes.compactMap { node in addresses[node]?.line.map { "\(node)@\($0)" } }.joined(separator: ",")
        text += " redis=" + nodes.compactMap { node in addresses[node]?.redis.map { "\(node)@\($0)" } }.joined(separator: ",")
        return text
    }

    /// Reads a `ROUTES` answer; nil when it is not one (an error line, a malformed field).
    /// Fields it does not know are skipped, so later versions may add some.
    public init?(line: String) {
        var node: UInt64?
        var shardCount: Int?
        var leaders: [UInt64]?
        var addresses: [UInt64: HostClientAddresses] = [:]
        for pair in line.split(separator: " ") {
            guard let equals = pair.firstIndex(of: "=") else { return nil }
            let value = pair[pair.index(after: equals)...]
            switch pair[..<equals] {
            case "node":
                guard let parsed = UInt64(value), parsed > 0 else { return nil }
                node = parsed
            case "shards":
                guard let parsed = Int(value), parsed >= 0 else { return nil }
                shardCount = parsed
            case "leaders":
                var parsed: [UInt64] = []
                for item in value.split(separator: ",", omittingEmptySubsequences: false) where !value.isEmpty {
                    guard let leader = UInt64(item) else { return nil }
                    parsed.append(leader)
                }
                leaders = parsed
            case "client", "redis":
                let isRedis = pair.hasPrefix("redis")
                for item in value.split(separator: ",") {
                    guard let at = item.firstIndex(of: "@"), let host = UInt64(item[..<at]), host > 0 else { return nil }
                    let address = String(item[item.index(after: at)...])
                    guard HostClientAddresses.isAddress(address) else { return nil }
                    if isRedis { addresses[host, default: HostClientAddresses()].redis = address }
                    else { addresses[host, default: HostClientAddresses()].line = address }
                }
            default:
                continue
            }
        }
        guard let node, let shardCount, let leaders, leaders.count == shardCount else { return nil }
        self.init(node: node, leaders: leaders, addresses: addresses)
    }
}
