/// One host of the cluster map: where its peers reach it and whether it takes replicas.
public struct ClusterHost: Sendable, Equatable {
    public var address: String
    public var state: HostState

    public init(address: String, state: HostState = .active) {
        self.address = address
        self.state = state
    }
}
