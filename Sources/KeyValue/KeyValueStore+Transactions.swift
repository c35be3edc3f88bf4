import Replication

/// WATCH and EXEC as the store applies them (`TransactionEntry`): a transaction is one entry, applied whole, and an
/// EXEC whose watched keys changed is aborted by the primary's judgement, recorded in the entry.
extension KeyValueStore {
    /// Applies one transaction entry; a malformed one (only a corrupt log holds one) changes nothing, on both nodes.
    mutating func applyTransactionEntry(
        _ kind: TransactionEntry.Kind, _ arguments: CommandArguments, context: inout ApplyContext
    ) -> [UInt8] {
        guard let entry = TransactionEntry(kind, arguments: arguments) else {
            return RESPWriter.error("ERR malformed \(kind.rawValue) entry; nothing was done")
        }
        switch entry {
        case .watch(let token, let keys):
            var cachedNanoseconds: Int64?
            // The clock is read only for a key with a TTL, which the replicated state decides: alike on both nodes.
            // The keys of the selected database: a connection's WATCH comes in its database's `DatabaseEntry`.
            let flagged = keys.map { key -> (key: WatchedKeys.Key, isStale: Bool) in
                let stored = StoreKey(key)
                let watched = WatchedKeys.Key(database: selectedDatabase, key: key)
                guard isPresent(stored), let expiresAt = expiry(of: stored) else { return (watched, false) }
                let now = cachedNanoseconds ?? context.wallClockNanoseconds()
                cachedNanoseconds = now
                return (watched, Self.milliseconds(now) > expiresAt)
            }
            watchedKeys.watch(token, keys: flagged)
            return Replies.ok
        case .unwatch(let token, let reply):
            watchedKeys.end(token)
            return reply
        case .exec(let token, let items):
            return execute(items, watchedBy: token, context: &context)
        }
    }

    /// EXEC: the queued commands in order, all at one instant (as Redis fixes the time for EXEC's commands), their
    /// replies as one array; or the null array when `token`'s watch says a watched key changed. A PUBLISH or PUBSUB
    /// is held for the release at its place in the array (`ReleaseEnvelope`), so an aborted EXEC publishes nothing.
    private mutating func execute(
        _ items: [TransactionEntry.Item], watchedBy token: WatchToken?, context: inout ApplyContext
    ) -> [UInt8] {
        context.freezeClock()
        defer { context.thawClock() }
        if let token {
            // Read on both nodes whatever the watch holds: only the judgement below may depend on node-local state.
            let now = Self.milliseconds(context.wallClockNanoseconds())
            let aborted = context.observed {
                watchedKeys.isAborted(token) { watched in
                    keyspace(of: watched.database)?.hasExpired(StoreKey(watched.key), nowMilliseconds: now) ?? false
                } ? 1 : 0
            }
            watchedKeys.end(token)
            if aborted != 0 { return RESPWriter.nullArray }
        }
        var writer = RESPWriter()
        writer.appendArrayHeader(count: items.count)
        for (position, item) in items.enumerated() {
            switch item {
            case .reply(let reply):
                writer.appendEncoded(reply)
            case .atRelease(let command):
                heldForRelease.append(ReleaseEnvelope.Held(position: position, command: command[...]))
                writer.appendEncoded(ReleaseEnvelope.placeholder)
            case .command(let command):
                // Only data commands are queued; a transaction entry inside one could nest without bound.
                if let (name, _) = CommandArguments.peek(command), TransactionEntry.Kind(name: name) != nil {
                    writer.appendEncoded(RESPWriter.error("ERR a transaction entry cannot hold another; skipped"))
                } else {
                    writer.appendEncoded(applyTimed(command, context: &context))
                }
            }
        }
        return writer.bytes
    }

    /// Whether `key` is stored, expired or not.
    func isPresent(_ key: StoreKey) -> Bool {
        let hash = ShardHash.of(key.bytes)
        return shards[shardIndex(hash: hash)].find(key, hash: hash) != nil
    }

    /// Whether `key` is stored in shard `index`, expired or not.
    func isPresent(_ key: StoreKey, inShard index: Int) -> Bool {
        shards[index].find(key, hash: ShardHash.of(key.bytes)) != nil
    }

    /// A write to `key` in shard `index` happened: it spoils the key's watches if the key was there before or is
    /// there now (deleting a missing key changes nothing, as in Redis, where only a real deletion signals).
    @inline(never)
    mutating func touchWatchedKey(_ key: StoreKey, inShard index: Int, wasPresent: Bool) {
        let isPresentNow = isPresent(key, inShard: index)
        guard wasPresent || isPresentNow else { return }
        watchedKeys.touch(WatchedKeys.Key(database: selectedDatabase, key: Array(key.bytes)), exists: isPresentNow)
    }
}
