/// A store error after which a host must not go on: it stops at once (fail-stop), it never
/// retries. After a failed sync the kernel may have dropped the dirty pages, so nothing written
/// since the last good sync can be called durable again (PostgreSQL learned this in 2018); a
/// batch the store refuses as malformed is a bug. A full disk or map is not one of these: such
/// a write is refused and retried, the store staying consistent.
public struct HostStoreFailure: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
