import Replication

extension KeyValueStore {
    /// `keys` and `expires`, the store's running counts, for INFO's keyspace line, and the open `sessions`; constant time.
    public var statistics: [String: UInt64] {
        ["keys": UInt64(count), "expires": UInt64(expiringCount), "sessions": UInt64(sessions.count)]
    }
}
