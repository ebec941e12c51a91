/// What orders the requests of one connection: requests with the same key run one after
/// another in the order sent, the rest run concurrently. Data requests are ordered by their
/// key (a pipelined `PUT k` then `GET k` reads its own write), administrative requests by
/// their shard (a pipelined `ADD-OBSERVER` then `PROMOTE` of the same shard promotes the
/// observer just added); the cluster map's commands share one order. `PING`, `SHARD`, `STATUS` and `PLACEMENT` change nothing and are not ordered.
enum RequestOrderingKey: Hashable {
    case key([UInt8])
    case shard(UInt64)

    init?(_ request: ClientRequest) {
        switch request {
        case .put(let key, _), .get(let key), .staleGet(let key), .delete(let key), .compareAndSet(let key, _, _),
             .increment(let key, _), .set(let key, _, _, _, _), .deleteCounting(let key), .append(let key, _),
             .expire(let key, _), .persist(let key), .timeToLive(let key):
            self = .key(key)
        case .addObserver(let shard, _, _), .promote(let shard, _), .remove(let shard, _), .transfer(let shard, _),
             .snapshot(let shard), .export(let shard, _):
            self = .shard(shard)
        case .addHost, .rebalance, .drain:
            // The cluster map's commands, ordered among themselves (a pipelined `ADD-HOST` then
            // `REBALANCE` places replicas on the host just added).
            self = .shard(0)
        case .clusterMap, .routes, .clientAddresses, .shard, .ping, .status, .replicaStatus, .scan, .keyCount, .shardCount, .placement:
            return nil
        }
    }
}
