import Replication

extension KeyValueStore {
    /// `keys` and `expires`, the store's running counts over every database, and `db<N>_keys` and `db<N>_expires` for
    /// each database holding keys, for INFO's keyspace lines; O(databases).
    public var statistics: [String: UInt64] {
        var figures: [String: UInt64] = [:]
        var keys = 0, expires = 0
        for database in 0..<Self.databaseCount {
            let counts = counts(of: database)
            guard counts.keys > 0 else { continue }
            figures["db\(database)_keys"] = UInt64(counts.keys)
            figures["db\(database)_expires"] = UInt64(counts.expiring)
            keys += counts.keys
            expires += counts.expiring
        }
        figures["keys"] = UInt64(keys)
        figures["expires"] = UInt64(expires)
        return figures
    }
}
