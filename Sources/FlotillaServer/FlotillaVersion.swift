/// The version of Flotilla, as `flotilla --version`, Redis `INFO` and `HELLO` report it.
public enum FlotillaVersion {
    public static let current = "0.13.0"
    /// The Redis version Flotilla answers to clients that check one (`HELLO`, `INFO`): the
    /// RESP2 commands it serves behave as in Redis 7.0.
    public static let redisCompatible = "7.0.0"
}
