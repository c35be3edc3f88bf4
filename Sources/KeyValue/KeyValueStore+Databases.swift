import Replication

/// Redis's numbered databases, 0 to 15: selecting one for an entry, SWAPDB, MOVE, FLUSHDB and FLUSHALL.
///
/// The selected database's keys sit in the store's own fields (`shards`, `level`, ... `byteCount`), the others'
/// in `parkedKeyspaces`, so every command works on "the keys" and database 0 costs nothing extra. A
/// `DatabaseEntry` selects its database for the one command it wraps and selects 0 again after it; between entries
/// database 0 is always the selected one. Selecting exchanges a few fields (`exchangeKeyspace`), and SWAPDB
/// exchanges two parked keyspaces: both O(1), whatever the databases hold.
///
/// A database is created when first selected and parked as nil whenever it is empty, so a parked keyspace always
/// holds keys and an empty database reads as a fresh one's layout on every node alike (the snapshot writes only the
/// databases that hold keys, and database 0).
extension KeyValueStore {
    /// Databases SELECT can name: Redis's `databases` default. A constant, because both nodes must agree on it.
    public static let databaseCount = 16

    /// Makes `database` the selected one: its keys move into the store's fields, the previous one's are parked.
    mutating func selectDatabase(_ database: Int) {
        guard database != selectedDatabase else { return }
        var keyspace = parkedKeyspaces[database] ?? Keyspace()
        // Released before the keys are written, so the first write does not copy the shard it touches.
        parkedKeyspaces[database] = nil
        exchangeKeyspace(&keyspace)
        parkedKeyspaces[selectedDatabase] = keyspace.count == 0 ? nil : keyspace
        selectedDatabase = database
    }

    /// The keyspace of `database`, for reads that look into a database that may not be the selected one; nil when
    /// the database is empty and parked. Holding it shares the shards: let it go before writing.
    func keyspace(of database: Int) -> Keyspace? {
        guard database == selectedDatabase else { return parkedKeyspaces[database] }
        var keyspace = Keyspace()
        keyspace.shards = shards
        keyspace.level = level
        keyspace.splitPointer = splitPointer
        keyspace.count = count
        keyspace.expiringCount = expiringCount
        keyspace.digestSum = digestSum
        keyspace.byteCount = byteCount
        keyspace.memoryByteCount = memoryByteCount
        return keyspace
    }

    /// Keys in `database`, and keys with a TTL there.
    func counts(of database: Int) -> (keys: Int, expiring: Int) {
        if database == selectedDatabase { return (count, expiringCount) }
        return (parkedKeyspaces[database]?.count ?? 0, parkedKeyspaces[database]?.expiringCount ?? 0)
    }

    /// Applies a `DatabaseEntry`: its command, in its database.
    mutating func applyInDatabase(_ arguments: CommandArguments, context: inout ApplyContext) -> [UInt8] {
        guard let entry = DatabaseEntry(arguments) else {
            return RESPWriter.error("ERR malformed \(DatabaseEntry.name) entry; nothing was done")
        }
        let previous = selectedDatabase
        selectDatabase(entry.database)
        defer { selectDatabase(previous) }
        return applyCommand(entry.command, context: &context)
    }

    /// What a SELECT, MOVE or SWAPDB argument names: a database, or Redis's error reply.
    enum DatabaseArgument {
        case database(Int)
        case refused([UInt8])
    }

    /// The database `argument` names, by Redis's `getIntFromObjectOrReply` and then `selectDb`: an integer, within
    /// 32 bits, below `databaseCount`; `invalid` replaces the first two errors' texts where Redis gives one (SWAPDB).
    static func database(_ argument: ArraySlice<UInt8>, invalid: String? = nil) -> DatabaseArgument {
        guard let index = DecimalInteger.parse(argument) else {
            return .refused(invalid.map { RESPWriter.error("ERR " + $0) } ?? Replies.notInteger)
        }
        guard index >= Int64(Int32.min), index <= Int64(Int32.max) else {
            return .refused(
                RESPWriter.error(
                    "ERR " + (invalid ?? "value is out of range, value must between -2147483648 and 2147483647")))
        }
        guard index >= 0, index < Int64(databaseCount) else { return .refused(Replies.databaseOutOfRange) }
        return .database(Int(index))
    }

    /// `SELECT index`'s reply; the selection itself is the connection's (`ClientConnection.database`).
    static func select(_ indexArgument: [UInt8]) -> [UInt8] {
        if case .refused(let reply) = database(indexArgument[...]) { return reply }
        return Replies.ok
    }

    /// `SWAPDB index1 index2`: the two databases exchange their keys, in O(1). Connections stay with the numbers they
    /// selected, and so do watches (Redis's `dbSwapDatabases`): a watched key whose value the swap changes spoils.
    mutating func swapDatabases(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let first: Int, second: Int
        switch Self.database(arguments.bytes(at: 1), invalid: "invalid first DB index") {
        case .refused(let reply) where reply != Replies.databaseOutOfRange: return reply
        case .refused: first = -1
        case .database(let database): first = database
        }
        switch Self.database(arguments.bytes(at: 2), invalid: "invalid second DB index") {
        case .refused(let reply) where reply != Replies.databaseOutOfRange: return reply
        case .refused: second = -1
        case .database(let database): second = database
        }
        guard first >= 0, second >= 0 else { return Replies.databaseOutOfRange }
        guard first != second else { return Replies.ok }
        // Read whatever the watches hold, so both nodes read the clock alike (watches are node-local).
        let now = Self.milliseconds(clock())
        if !watchedKeys.isEmpty {
            let firstKeys = keyspace(of: first), secondKeys = keyspace(of: second)
            for (emptied, replacement) in [(first, secondKeys), (second, firstKeys)] {
                let existing = emptied == first ? firstKeys : secondKeys
                watchedKeys.replaceAll(
                    inDatabase: emptied, existed: { existing?.isPresent(StoreKey($0)) ?? false },
                    replacement: { key in
                        let key = StoreKey(key)
                        return (replacement?.isPresent(key) ?? false, replacement?.hasExpired(key, nowMilliseconds: now) ?? false)
                    })
            }
        }
        if first != selectedDatabase && second != selectedDatabase {
            parkedKeyspaces.swapAt(first, second)
        } else {
            let other = first == selectedDatabase ? second : first
            var keyspace = parkedKeyspaces[other] ?? Keyspace()
            parkedKeyspaces[other] = nil
            exchangeKeyspace(&keyspace)
            parkedKeyspaces[other] = keyspace.count == 0 ? nil : keyspace
        }
        // Keys with waiters may hold elements now (Redis's `scanDatabaseForReadyKeys`): served once the entry is done.
        if !blocked.isEmpty { blocked.noteAllWritten(inDatabases: [first, second]) }
        return Replies.ok
    }

    /// `MOVE key db`: 1 when the key moved, with its TTL, from the selected database to `db`; 0 when it is missing
    /// here or exists there.
    mutating func move(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let target: Int
        switch Self.database(arguments.bytes(at: 2)) {
        case .refused(let reply): return reply
        case .database(let database): target = database
        }
        guard target != selectedDatabase else { return Replies.sameObject }
        let key = arguments.key(at: 1)
        guard isLive(key, clock: clock) else { return Replies.zero }
        let hash = ShardHash.of(key.bytes)
        let index = shardIndex(hash: hash)
        let slot = shards[index].find(key, hash: hash)!
        let expiresAt = shards[index].expiry(at: slot)
        // A string is copied out (it views the shard); a collection is shared until either copy is written.
        let string = shards[index].value(at: slot).map(Array.init)
        let collection = string == nil ? shards[index].collection(at: slot) : nil
        let source = selectedDatabase
        selectDatabase(target)
        guard !isLive(key, clock: clock) else {
            selectDatabase(source)
            return Replies.zero
        }
        if let string {
            store(string[...], for: key, expiresAtMilliseconds: expiresAt)
        } else if let collection {
            insert(collection, for: key)
            if let expiresAt { setExpiry(expiresAt, for: key) }
        }
        selectDatabase(source)
        remove(key)
        notify(.generic, "move_from", key)
        if !notifiedEvents.isEmpty {
            // Its channel names the database it went to.
            selectDatabase(target)
            notify(.generic, "move_to", key)
            selectDatabase(source)
        }
        return Replies.one
    }

    /// `FLUSHDB [ASYNC|SYNC]` (the selected database) and `FLUSHALL [ASYNC|SYNC]` (every one): +OK.
    mutating func flush(_ arguments: CommandArguments, allDatabases: Bool) -> [UInt8] {
        if arguments.count > 2 { return Replies.syntaxError }
        if arguments.count == 2 && !ASCII.equals(arguments.bytes(at: 1), "async")
            && !ASCII.equals(arguments.bytes(at: 1), "sync")
        {
            return Replies.syntaxError
        }
        removeAll(allDatabases: allDatabases)
        return Replies.ok
    }

    /// Deletes every key of the selected database, or of all of them: back to a fresh keyspace. The watches of keys
    /// that existed are spoiled (Redis's `touchAllWatchedKeysInDb`); the watches themselves are this node's, not the
    /// state's, so they stay. O(1) but for the watches, which `WatchedKeys.pairsLimit` bounds.
    mutating func removeAll(allDatabases: Bool = true) {
        if !watchedKeys.isEmpty {
            let selected = selectedDatabase
            let keyspaces = (0..<Self.databaseCount).map { keyspace(of: $0) }
            watchedKeys.touchAll { watched in
                guard allDatabases || watched.database == selected else { return false }
                return keyspaces[watched.database]?.isPresent(StoreKey(watched.key)) ?? false
            }
        }
        var fresh = Keyspace()
        exchangeKeyspace(&fresh)
        if allDatabases { parkedKeyspaces = Self.noParkedKeyspaces }
    }

    /// Every database but the selected one empty.
    static let noParkedKeyspaces = [Keyspace?](repeating: nil, count: databaseCount)

    /// The digest of one database's contents, as it enters the store's digest: database 0's sum itself (so a store
    /// using only database 0 has the digest it always had), another's mixed with its number (so the same keys in
    /// another database, or two databases swapped, digest differently), and an empty one's nothing.
    static func databaseDigest(_ sum: UInt64, database: Int) -> UInt64 {
        guard database != 0, sum != 0 else { return sum }
        return SplitMix64.mix(sum ^ SplitMix64.mix(UInt64(database)))
    }

    /// The store's digest: every database's, added. O(databases).
    var combinedDigest: UInt64 {
        var digest: UInt64 = 0
        for database in 0..<Self.databaseCount {
            let sum = database == selectedDatabase ? digestSum : parkedKeyspaces[database]?.digestSum ?? 0
            digest &+= Self.databaseDigest(sum, database: database)
        }
        return digest
    }

    /// Checks every parked database as `checkInvariants` checks the selected one; for tests and debug builds.
    func checkParkedInvariants() {
        precondition(parkedKeyspaces.count == Self.databaseCount, "the parked databases are not one per number")
        precondition(parkedKeyspaces[selectedDatabase] == nil, "the selected database is also parked")
        for database in 0..<Self.databaseCount where database != selectedDatabase {
            guard let parked = parkedKeyspaces[database] else { continue }
            precondition(parked.count > 0, "an empty database is parked")
            var view = self
            view.selectDatabase(database)
            view.checkSelectedInvariants()
        }
    }
}
