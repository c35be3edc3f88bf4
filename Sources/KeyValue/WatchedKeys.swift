/// The keys connections WATCH, and which watches a change to one of them spoiled: Redis's `watched_keys`.
///
/// Kept inside the store, because the changes that spoil a watch happen there (any write, a lazy or active expiry,
/// FLUSHALL), but it is node-local state: outside the digest and the snapshot, and built from the WATCH entries this
/// node applied. A backup restored from a checkpoint never saw the WATCHes before it, so the two nodes' copies may
/// differ; that is harmless because only the primary's copy decides an EXEC, and the entry records the decision
/// (`ApplyContext.observed`), which the backup replays. Nothing else may depend on this state.
///
/// Every watch is bounded, because a connection that closes between WATCH and EXEC leaves its watch behind (the
/// store never hears of closed connections): past `watchesLimit` watches, `pairsLimit` (watch, key) pairs or
/// `keyBytesLimit` bytes of keys, the oldest watch is dropped, and an EXEC whose watch is gone aborts, as if its keys
/// had changed. A client retries an aborted EXEC, so the bound costs a retry, never a lost update.
struct WatchedKeys: Sendable {
    /// A watched key: its name in its database. A connection watches a key of the database it selected, and only a
    /// change there spoils the watch (Redis's `watchedKey` holds the `redisDb`).
    struct Key: Hashable, Sendable {
        var database: Int
        var key: [UInt8]
    }

    /// Watches held at once: well above the connections a node serves (`clientConnectionsLimit`), so only watches
    /// left behind by closed connections are dropped in practice.
    static let watchesLimit = 16_384
    /// (watch, key) pairs held at once: room for a WATCH with the parser's most arguments, twice. FLUSHALL walks them,
    /// so this also bounds the extra work of one FLUSHALL.
    static let pairsLimit = 1 << 17
    /// Bytes of watched keys held at once (each pair counts its key): sixteen of the largest requests.
    static let keyBytesLimit = 16 << 20

    private struct Watch: Sendable {
        /// The keys watched, each with Redis's `expired` flag: whether it existed but had already expired at WATCH.
        /// A stale key's deletion is no change (it already counted as missing), so it does not spoil the watch.
        var keys: [Key: Bool] = [:]
        /// Redis's `CLIENT_DIRTY_CAS`: a watched key changed; the keys are dropped then, since nothing can undo it.
        var isSpoiled = false
    }

    /// Pairs held; read before every write of the store, so kept as a stored number.
    private(set) var pairCount = 0
    private var keyBytes = 0
    private var watches: [WatchToken: Watch] = [:]
    /// The watches of each watched key, in the order they began watching it.
    private var watchesByKey: [Key: [WatchToken]] = [:]
    /// Tokens in the order their watches began, from `oldestIndex` on; may name watches already ended, skipped when
    /// met. Compacted whenever ended ones outnumber the live watches (plus a few), so it stays within about twice them.
    private var order: [WatchToken] = []
    private var oldestIndex = 0

    /// Whether no key is watched: a write then has nothing to look up.
    var isEmpty: Bool { pairCount == 0 }

    /// Watches held, for tests.
    var watchCount: Int { watches.count }

    /// Tokens in the eviction order, ended ones included, for tests of its compaction.
    var orderCount: Int { order.count - oldestIndex }

    /// `token` watches `keys` from now on, each flagged stale when it exists but has expired. A spoiled watch stays
    /// spoiled and adds nothing (Redis: no point in watching once dirty). May drop the oldest watches, this one
    /// included, to stay within the bounds.
    mutating func watch(_ token: WatchToken, keys: [(key: Key, isStale: Bool)]) {
        if watches[token] == nil {
            watches[token] = Watch()
            order.append(token)
        }
        guard watches[token]?.isSpoiled == false else { return }
        for (key, isStale) in keys where watches[token]?.keys[key] == nil {
            watches[token]?.keys[key] = isStale
            watchesByKey[key, default: []].append(token)
            pairCount += 1
            keyBytes += key.key.count
        }
        while watches.count > Self.watchesLimit || pairCount > Self.pairsLimit || keyBytes > Self.keyBytesLimit {
            dropOldest()
        }
    }

    /// `key` was written or deleted; `exists` says whether it is in the store now. Spoils every watch of it, except
    /// that a stale key's deletion only clears its flag (Redis's `touchWatchedKey`).
    ///
    /// A stale key that is overwritten rather than deleted spoils the watch: it gained a value. (Redis 7.0.15 stops at
    /// such a watcher instead, leaving it and the watchers after it unspoiled; later releases spoil it.)
    mutating func touch(_ key: Key, exists: Bool) {
        guard let tokens = watchesByKey[key] else { return }
        for token in tokens {
            guard let isStale = watches[token]?.keys[key] else { continue }
            if isStale && !exists {
                watches[token]?.keys[key] = false
            } else {
                spoil(token)
            }
        }
    }

    /// Databases are about to be emptied (FLUSHALL, FLUSHDB): every watch of a key that `exists` (false for the keys
    /// of a database that stays) spoils, except that a stale key's deletion only clears its flag (Redis's
    /// `touchAllWatchedKeysInDb` without a replacement). Costs one `exists` per watched key, at most `pairsLimit`.
    mutating func touchAll(exists: (Key) -> Bool) {
        let present = watchesByKey.keys.filter(exists)
        for key in present { touch(key, exists: false) }
    }

    /// The keys of `database` are about to be replaced with another database's (SWAPDB): Redis's
    /// `touchAllWatchedKeysInDb(emptied, replaced_with)`. A watch of a key that `existed` here or exists in the
    /// `replacement` spoils, except where nothing a client could see changes: a stale key replaced by none (the flag
    /// clears) or by another stale one, and a missing key replaced by a stale one (the flag is set). Costs a lookup
    /// per watched key, at most `pairsLimit`.
    mutating func replaceAll(
        inDatabase database: Int, existed: ([UInt8]) -> Bool,
        replacement: ([UInt8]) -> (exists: Bool, isExpired: Bool)
    ) {
        let affected = watchesByKey.keys.filter { $0.database == database }
        for key in affected {
            let existedHere = existed(key.key)
            let (existsThere, isExpiredThere) = replacement(key.key)
            guard existedHere || existsThere, let tokens = watchesByKey[key] else { continue }
            for token in tokens {
                guard let isStale = watches[token]?.keys[key] else { continue }
                if isStale {
                    if !existsThere {
                        watches[token]?.keys[key] = false
                        continue
                    }
                    if isExpiredThere { continue }
                } else if !existedHere && isExpiredThere {
                    watches[token]?.keys[key] = true
                    continue
                }
                spoil(token)
            }
        }
    }

    /// Whether an EXEC under `token` must abort: its watch is gone (dropped for the bounds, or never reached this
    /// node), spoiled, or one of its keys that was live at WATCH has expired since (`isExpired`), which Redis counts
    /// as a change even before the key is deleted.
    func isAborted(_ token: WatchToken, isExpired: (Key) -> Bool) -> Bool {
        guard let watch = watches[token] else { return true }
        if watch.isSpoiled { return true }
        return watch.keys.contains { key, isStale in !isStale && isExpired(key) }
    }

    /// Ends `token`'s watch (EXEC, DISCARD, UNWATCH).
    mutating func end(_ token: WatchToken) {
        guard watches[token] != nil else { return }
        dropKeys(of: token)
        watches[token] = nil
        if order.count - oldestIndex > 2 * watches.count + 64 {
            // Each compaction follows at least as many ends as it keeps tokens: amortized O(1) per end.
            order = order[oldestIndex...].filter { watches[$0] != nil }
            oldestIndex = 0
        }
    }

    private mutating func spoil(_ token: WatchToken) {
        dropKeys(of: token)
        watches[token]?.isSpoiled = true
    }

    private mutating func dropKeys(of token: WatchToken) {
        guard let keys = watches[token]?.keys, !keys.isEmpty else { return }
        for key in keys.keys {
            watchesByKey[key]?.removeAll { $0 == token }
            if watchesByKey[key]?.isEmpty == true { watchesByKey[key] = nil }
            pairCount -= 1
            keyBytes -= key.key.count
        }
        watches[token]?.keys = [:]
    }

    private mutating func dropOldest() {
        while oldestIndex < order.count {
            let token = order[oldestIndex]
            oldestIndex += 1
            if watches[token] != nil {
                end(token)
                return
            }
        }
    }
}
