import Replication

/// The DEBUG subcommands the store answers from its state: `DEBUG RELOAD` and `DEBUG OBJECT key`.
///
/// Both are reads. They change nothing, so they need no entry of their own: the primary answers them from its state
/// (`read`), and the reply leaves under the output rule like any read's. An entry carrying one (a read that met an
/// expired key, or a command applied by a test) is answered the same way by `apply`, on both nodes alike.
///
/// `DEBUG RELOAD` is, in Redis, a save of the RDB file and a load of it back. Lockstep's state is in memory and
/// replicated, so its counterpart is the check that makes that round trip worth doing: the store's own snapshot
/// (the streamed, chunked `StateMachine` contract a joining backup is brought up with) is written out and restored
/// into a fresh store, and the two are compared. +OK means the state survives its own snapshot format; an error names
/// what did not survive. It runs on the loop, in time proportional to the whole state, so it is refused above
/// `debugReloadBytesLimit`.
extension KeyValueStore {
    /// Largest dataset (`MemoryLimit.datasetFigure`, what MEMORY USAGE says of every key) DEBUG RELOAD round-trips.
    ///
    /// The check encodes, decodes and compares the whole state on the event loop, where a step must never stall
    /// heartbeats for long: a stall past the peer silence limit makes the backup take over. At 1 MiB the round trip
    /// stays well inside the default limit even in a debug build, and above the datasets of the test suites and tools
    /// that send it.
    static let debugReloadBytesLimit = 1 << 20
    /// Chunk size of the round trip: the size a joining backup is sent, so the check cuts the encoding as it travels.
    static let debugReloadChunkBytes = 64 << 10

    /// Answers `arguments`, a DEBUG subcommand the store knows as a read, into `reply`; false for any other, or for a
    /// DEBUG OBJECT whose key has expired (its entry deletes the key on both nodes first).
    func readDebug(_ arguments: CommandArguments, into reply: inout [UInt8], context: inout ApplyContext) -> Bool {
        guard arguments.count >= 2 else { return false }
        let subcommand = arguments.bytes(at: 1)
        if ASCII.equals(subcommand, "reload") {
            reply.append(contentsOf: debugReload(arguments))
            return true
        }
        guard ASCII.equals(subcommand, "object"), arguments.count == 3 else { return false }
        var cachedNanoseconds: Int64?
        func cachingClock() -> Int64 {
            if let cachedNanoseconds { return cachedNanoseconds }
            let now = context.wallClockNanoseconds()
            cachedNanoseconds = now
            return now
        }
        guard !hasExpired(arguments.key(at: 2), clock: cachingClock) else { return false }
        var view = self  // shares every shard: no key is expired, so nothing is written
        reply.append(contentsOf: view.debugObject(arguments.key(at: 2), clock: cachingClock))
        return true
    }

    /// Applies a DEBUG entry other than SET-ACTIVE-EXPIRE: RELOAD and OBJECT as `readDebug` answers them, anything
    /// else refused (the frontend answers the node-local subcommands and never logs them).
    mutating func applyDebugRead(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let subcommand = arguments.bytes(at: 1)
        if ASCII.equals(subcommand, "reload") { return debugReload(arguments) }
        if ASCII.equals(subcommand, "object"), arguments.count == 3 { return debugObject(arguments.key(at: 2), clock: clock) }
        return RESPWriter.error("ERR this DEBUG subcommand is not an entry; nothing was done")
    }

    // MARK: DEBUG RELOAD

    /// `DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]`: +OK when the store survives its snapshot's round trip. Redis's
    /// options are accepted and change nothing (there is no file to skip saving, and the fresh store is never merged
    /// into the live one); any other is refused with Redis's error.
    func debugReload(_ arguments: CommandArguments) -> [UInt8] {
        for index in 2..<max(2, arguments.count) {
            let option = arguments.bytes(at: index)
            guard ["merge", "noflush", "nosave"].contains(where: { ASCII.equals(option, $0) }) else {
                return RESPWriter.error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
            }
        }
        let datasetBytes = Int(statistics[MemoryLimit.datasetFigure] ?? 0)
        guard datasetBytes <= Self.debugReloadBytesLimit else {
            return RESPWriter.error(
                "ERR DEBUG RELOAD refused: the dataset holds \(datasetBytes) bytes, more than the "
                    + "\(Self.debugReloadBytesLimit) a round trip of the snapshot may take on the node's event loop")
        }
        // The snapshot's layout starts from database 0, as a joining backup's does; the asker's database (selected
        // while its entry or read runs) would leave database 0 parked, and then missing from the comparison.
        var whole = self
        whole.selectDatabase(0)
        if let mismatch = whole.reloadMismatch() {
            return RESPWriter.error("ERR DEBUG RELOAD found the state changed by its snapshot's round trip: \(mismatch)")
        }
        return Replies.ok
    }

    /// What did not survive a round trip of the store through its snapshot, nil when everything did; with database 0
    /// selected, as between entries.
    ///
    /// `alteringChunk` sees each chunk on its way to the restorer and may change it: the seam that lets a test prove a
    /// corrupt or truncated encoding is caught. The restorer checks the encoding against the digest it carries; the
    /// comparison (`mismatch(restoredFrom:)`) checks what the restorer built against this store.
    func reloadMismatch(alteringChunk: (inout [UInt8]) -> Void = { _ in }) -> String? {
        precondition(selectedDatabase == 0, "a snapshot is taken between entries, with database 0 selected")
        var snapshot = snapshot()
        var restorer = Restorer()  // not `makeRestorer()`: the fresh store is thrown away, and notes nothing in the slow log
        do throws(SnapshotError) {
            while !snapshot.isFinished {
                var chunk = snapshot.nextChunk(byteLimit: Self.debugReloadChunkBytes)
                alteringChunk(&chunk)
                try restorer.consume(chunk)
            }
            return mismatch(restoredFrom: try restorer.finish())
        } catch {
            return "the snapshot does not restore (\(error.reason))"
        }
    }

    /// What differs between this store and `restored`, in the figures that are cheap to compare, nil for none: the
    /// digest (every key, value, TTL, session and waiter), then each database's layout and counts, the dataset's
    /// byte counts and the replicated settings.
    func mismatch(restoredFrom restored: KeyValueStore) -> String? {
        if restored.digest() != digest() {
            return "digest \(KeyValueFrontend.hexDigits(restored.digest())) after it, "
                + "\(KeyValueFrontend.hexDigits(digest())) before"
        }
        for database in 0..<Self.databaseCount {
            let before = keyspace(of: database), after = restored.keyspace(of: database)
            let figures: [(String, Int?, Int?)] = [
                ("keys", before?.count, after?.count), ("keys with a TTL", before?.expiringCount, after?.expiringCount),
                ("bytes", before?.byteCount, after?.byteCount),
                ("memory bytes", before?.memoryByteCount, after?.memoryByteCount),
                ("shards", before?.shards.count, after?.shards.count),
                ("split pointer", before?.splitPointer, after?.splitPointer),
            ]
            for (name, old, new) in figures where (old ?? 0) != (new ?? 0) {
                return "database \(database) has \(new ?? 0) \(name) after it, \(old ?? 0) before"
            }
        }
        if restored.isActiveExpiryOn != isActiveExpiryOn {
            return "active expiry is \(restored.isActiveExpiryOn ? "on" : "off") after it"
        }
        if restored.blocked != blocked { return "the blocked clients differ" }
        return nil
    }

    // MARK: DEBUG OBJECT

    /// Redis's `DEBUG OBJECT key` line, or `-ERR no such key`.
    ///
    /// What the fields mean here: `at` is not an address (the store's values move, and a pointer would differ between
    /// the nodes) but the key's `ShardHash`, stable across nodes, runs and failovers, so two answers about one key
    /// agree; `refcount` and `encoding` are OBJECT REFCOUNT's and OBJECT ENCODING's; `serializedlength` is the length
    /// of the value's RDB encoding in its DUMP payload (without the type byte, RDB version and checksum), as Redis's
    /// `rdbSavedObjectLen` counts it but uncompressed; `lru` and `lru_seconds_idle` are 0, as the store keeps no access
    /// times (OBJECT IDLETIME says 0 too). A list, which Redis keeps as a quicklist, adds Redis's `ql_` fields as
    /// for one node holding every element (the store's list is one sequence), at Redis's default
    /// `list-max-listpack-size` of -2, uncompressed. Costs time in proportion to the value, as DUMP does.
    mutating func debugObject(_ key: StoreKey, clock: Clock) -> [UInt8] {
        guard let kind = liveKind(key, clock: clock) else { return Self.noSuchKey }
        let address = "0x" + String(ShardHash.of(key.bytes), radix: 16)
        let encoding: String, refcount: Int64, payloadBytes: Int
        var quicklist = ""
        if case .value(let string) = liveValue(key, clock: clock) {
            encoding = Self.encoding(ofString: string)
            let isShared = DecimalInteger.parse(string).map { $0 >= 0 && $0 < Self.sharedIntegersLimit } ?? false
            refcount = isShared ? Int64(Int32.max) : 1
            payloadBytes = DumpPayload.encode(string: string).count
        } else {
            let collection = entry(of: key).collection!
            encoding = Self.encoding(of: collection, kind: kind)
            refcount = 1
            payloadBytes = DumpPayload.encode(collection).count
            if kind == .list {
                var elementBytes = 0
                for position in 0..<collection.count { elementBytes += collection.elements[position].count }
                quicklist = " ql_nodes:1 ql_avg_node:\(collection.count).00 ql_listpack_max:-2 ql_compressed:0"
                    + " ql_uncompressed_size:\(elementBytes)"
            }
        }
        let serializedBytes = payloadBytes - 1 - Self.dumpFooterBytes
        return RESPWriter.simpleString(
            "Value at:\(address) refcount:\(refcount) encoding:\(encoding) serializedlength:\(serializedBytes) "
                + "lru:0 lru_seconds_idle:0\(quicklist)")
    }

    /// A DUMP payload's footer: the RDB version (2 bytes) and the CRC64 (8 bytes).
    static let dumpFooterBytes = 10
}
