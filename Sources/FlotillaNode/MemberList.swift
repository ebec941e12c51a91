import FlotillaRaft
import FlotillaTransport

/// The `--members ID=HOST:PORT,...` list: node ids to raft addresses.
public enum MemberList {
    public static func parse(_ text: String) throws(HostRuntimeError) -> [ReplicaID: String] {
        var members: [ReplicaID: String] = [:]
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let id = UInt64(parts[0]), id > 0 else {
                throw .invalidOption("--members: '\(item)' is not ID=HOST:PORT with a positive node id")
            }
            let address = String(parts[1])
            guard let (_, port) = splitHostPort(address), port > 0 else {
                throw .invalidOption("--members: '\(address)' is not HOST:PORT")
            }
            guard members[ReplicaID(id)] == nil else { throw .invalidOption("--members: node id \(id) appears twice") }
            members[ReplicaID(id)] = address
        }
        guard !members.isEmpty else { throw .invalidOption("--members is empty") }
        return members
    }
}
