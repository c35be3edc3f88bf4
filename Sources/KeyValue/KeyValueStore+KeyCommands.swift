/// The key commands that move or copy a whole value: RENAME, RENAMENX and COPY (TOUCH is EXISTS here, since the
/// store keeps no access times).
///
/// A value goes with its TTL. A string is copied, O(its length), as Redis's `dupStringObject`; a collection is
/// shared, O(1), until either key's copy is written, which then copies it once (what Redis's COPY costs up front).
extension KeyValueStore {
    /// The value and TTL of a live key, taken out of the shard so that writes may follow.
    struct KeyEntry {
        /// The string value; nil for a collection.
        var string: [UInt8]?
        /// The collection; nil for a string.
        var collection: CollectionValue?
        /// The TTL, as Unix milliseconds; nil for none.
        var expiresAtMilliseconds: Int64?
    }

    /// The value and TTL of `key`, which is live.
    func entry(of key: StoreKey) -> KeyEntry {
        let hash = ShardHash.of(key.bytes)
        let index = shardIndex(hash: hash)
        let slot = shards[index].find(key, hash: hash)!
        let string = shards[index].value(at: slot).map(Array.init)
        return KeyEntry(
            string: string, collection: string == nil ? shards[index].collection(at: slot) : nil,
            expiresAtMilliseconds: shards[index].expiry(at: slot))
    }

    /// Makes `key`, which must be absent in the selected database, hold `entry`.
    mutating func insert(_ entry: KeyEntry, for key: StoreKey) {
        if let string = entry.string {
            store(string[...], for: key, expiresAtMilliseconds: entry.expiresAtMilliseconds)
        } else if let collection = entry.collection {
            insert(collection, for: key)
            if let expiresAt = entry.expiresAtMilliseconds { setExpiry(expiresAt, for: key) }
        }
    }

    /// `RENAME key newkey` (+OK) and `RENAMENX key newkey` (1, or 0 when `newkey` exists): the value and TTL move to
    /// `newkey`, replacing what it held; an error when `key` is missing. Renaming a key to itself changes nothing.
    mutating func rename(_ arguments: CommandArguments, onlyIfAbsent: Bool, clock: Clock) -> [UInt8] {
        let source = arguments.key(at: 1), destination = arguments.key(at: 2)
        guard isLive(source, clock: clock) else { return Self.noSuchKey }
        if source == destination { return onlyIfAbsent ? Replies.zero : Replies.ok }
        if isLive(destination, clock: clock) {
            if onlyIfAbsent { return Replies.zero }
            remove(destination)
        }
        insert(entry(of: source), for: destination)
        remove(source)
        notify(.generic, "rename_from", source)
        notify(.generic, "rename_to", destination)
        return onlyIfAbsent ? Replies.one : Replies.ok
    }

    /// `COPY source destination [DB destination-db] [REPLACE]`: 1 when `destination` (in the selected database or
    /// `destination-db`) now holds a copy of `source`'s value and TTL; 0 when `source` is missing or `destination`
    /// exists and REPLACE was not given.
    mutating func copy(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        var replaces = false
        var target = selectedDatabase
        var index = 3
        while index < arguments.count {
            let option = arguments.bytes(at: index)
            if ASCII.equals(option, "replace") {
                replaces = true
            } else if ASCII.equals(option, "db") && index + 1 < arguments.count {
                switch Self.database(arguments.bytes(at: index + 1)) {
                case .refused(let reply): return reply
                case .database(let database): target = database
                }
                index += 1
            } else {
                return Replies.syntaxError
            }
            index += 1
        }
        let source = arguments.key(at: 1), destination = arguments.key(at: 2)
        if target == selectedDatabase && source == destination { return Replies.sameObject }
        guard isLive(source, clock: clock) else { return Replies.zero }
        let copied = entry(of: source)
        let home = selectedDatabase
        selectDatabase(target)
        defer { selectDatabase(home) }
        if isLive(destination, clock: clock) {
            guard replaces else { return Replies.zero }
            remove(destination)
        }
        insert(copied, for: destination)
        notify(.generic, "copy_to", destination)
        return Replies.one
    }

    /// Redis's `shared.nokeyerr`, for RENAME, LSET and DEBUG OBJECT.
    static let noSuchKey = RESPWriter.error("ERR no such key")
}
