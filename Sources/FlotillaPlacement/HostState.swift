/// Where a host stands in the cluster map: `active` hosts take replicas; a `draining` host
/// gives up every replica it holds and takes none; a `removed` host is gone for good (its node
/// id is never reused).
public enum HostState: String, Sendable, Equatable, CaseIterable {
    case active
    case draining
    case removed
}
