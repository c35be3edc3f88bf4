import Replication

extension KeyValueStore {
    /// `keys` and `expires`, database 0's running counts, `db<N>_keys` and `db<N>_expires` for each other database
    /// holding keys, for INFO's keyspace lines, the open `sessions`, and `blocked_clients` while some client waits;
    /// O(databases), and for a store using database 0 alone the figures it always had (the runtime reads them every
    /// status publication).
    public var statistics: [String: UInt64] {
        let first = counts(of: 0)
        var figures = [
            "keys": UInt64(first.keys), "expires": UInt64(first.expiring), "sessions": UInt64(sessions.count),
        ]
        if !blocked.isEmpty { figures["blocked_clients"] = UInt64(blocked.count) }
        // Every database's: `maxmemory` weighs them all.
        var datasetBytes = memoryByteCount
        for database in 0..<Self.databaseCount where database != selectedDatabase {
            datasetBytes += parkedKeyspaces[database]?.memoryByteCount ?? 0
        }
        figures[MemoryLimit.datasetFigure] = UInt64(datasetBytes)
        for database in 1..<Self.databaseCount {
            let counts = counts(of: database)
            guard counts.keys > 0 else { continue }
            figures["db\(database)_keys"] = UInt64(counts.keys)
            figures["db\(database)_expires"] = UInt64(counts.expiring)
        }
        return figures
    }
}
