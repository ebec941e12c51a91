/// The protocol `flotilla bench` speaks: Flotilla's line protocol, or RESP2, so that the same
/// load can be put on Flotilla's Redis listener and on a real Redis for comparison.
public enum LoadProtocol: String, Sendable, CaseIterable {
    /// `PUT key value` / `GET key` / `STALE-GET key`, one line each; an answer starting `ERR` is an error.
    case line
    /// `SET key value` / `GET key` as RESP arrays of bulk strings; a `-` reply is an error.
    case redis
}
