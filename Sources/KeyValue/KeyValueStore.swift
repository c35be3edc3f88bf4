import Replication

/// The bundled application: a Redis-compatible store of string values, replicated as a `StateMachine`.
///
/// Everything a reply or the state depends on is deterministic given the command and the `ApplyContext`:
/// time comes only from `context.wallClockNanoseconds()` (read at most once per command, and only by commands
/// that set a TTL, meet a key with one, or ask for the time), randomness only from `context.randomValue()`.
///
/// The keys are partitioned into shards by linear hashing on `ShardHash` (the same in every process), so no step
/// takes time in proportion to the whole state:
/// - The table grows one shard at a time: once the store holds more than `shardLoadBound` keys per shard, the
///   shard at the split pointer splits into itself and a new shard at the end, O(one shard); a shard's own
///   table grows with that shard alone. It shrinks the same way, one merge at a time, once it holds fewer than a
///   quarter of that (the gap keeps a key count near a boundary from splitting and merging in turn), so random
///   picks keep finding keys after mass deletion and the memory of an emptied table goes back.
/// - A snapshot copies the shard table (a list of pages of shard references); a write afterwards copies only the
///   page and the shard it touches, the way a fork's copy-on-write copies only touched pages (`ShardTable`).
/// - DBSIZE, the digest and the snapshot's size estimate are running totals over the shards.
/// With `shards.count == 2^level + splitPointer`, a key whose hash is `h` lives in shard `h mod 2^level`, or in
/// `h mod 2^(level+1)` when the former is below the split pointer (already split this round).
public struct KeyValueStore: StateMachine, Sendable {
    /// Keys sampled per active-expiry round; Redis's `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`.
    ///
    /// A constant rather than a setting, because both replicas must sample identically.
    public static let activeExpirySampleLimit = 20
    /// Rounds per tick; another round runs only while more than a quarter of a round's sample had expired,
    /// as in Redis, so a tick deletes at most 320 keys and one log entry never stands for unbounded work.
    public static let activeExpiryRoundsLimit = 16
    /// Keys RANDOMKEY examines (deleting the expired ones), or empty shards it steps over, before giving up with a
    /// null reply.
    public static let randomKeyProbesLimit = 128
    /// Shards one active-expiry sample steps over, from a random one, looking for a shard whose keys have TTLs;
    /// bounds a tick's work when few shards hold such keys (the sample is then skipped).
    public static let activeExpiryShardScanLimit = 64
    /// Largest value APPEND may build; Redis's `proto-max-bulk-len` default, 512 MiB.
    public static let valueBytesLimit = 512 << 20
    /// Average keys per shard above which the table splits a shard, and a quarter of which below which it merges
    /// one. Keeps a shard (what one write after a snapshot copies, and one split rebuilds) to a few hundred keys:
    /// a shard not yet split this round holds about twice the average of one that was.
    public static let shardLoadBound = 512

    // The properties below change together, only through the primitives at the end of this file (and the
    // restorer, which builds them whole); `checkInvariants()` says how they relate.
    /// The partitions, `2^level + splitPointer` of them; shard `i` holds the keys whose address (above) is `i`.
    var shards: ShardTable = [StoreShard()]
    /// Doublings of the table completed: shards below `2^level` were split in this round once below the pointer.
    var level = 0
    /// The next shard to split, below `2^level`.
    var splitPointer = 0
    /// Keys stored, the sum of the shards' counts.
    public internal(set) var count = 0
    /// Keys with a TTL, the sum of the shards' TTL orders.
    var expiringCount = 0
    /// Wrapping sum of every entry's hash: the digest, kept up to date by each mutation.
    var digestSum: UInt64 = 0
    /// Bytes of keys and values, for the snapshot's size estimate.
    var byteCount = 0
    /// The sum of the shards' `memoryByteCount`: what MEMORY USAGE would say of every key, for `maxmemory`.
    var memoryByteCount = 0
    /// Client sessions: the saved replies that make a retried `SESSION EXEC` apply once (`KeyValueStore+Sessions`).
    var sessions = SessionTable()
    /// The database whose keys the properties above hold: 0 but while a `DatabaseEntry` is applied
    /// (`KeyValueStore+Databases`).
    var selectedDatabase = 0
    /// The other databases' keys, by number; nil for an empty database and for the selected one.
    var parkedKeyspaces = KeyValueStore.noParkedKeyspaces
    /// The keys this node's connections WATCH: node-local, outside the digest and the snapshot (`WatchedKeys`).
    var watchedKeys = WatchedKeys()
    /// The connections waiting in blocking pops (`KeyValueStore+Blocking`): replicated, in the digest and snapshot.
    var blocked = BlockedClients()
    /// Whether the tick deletes expired keys (Redis's active expiry); `DEBUG SET-ACTIVE-EXPIRE 0` turns it off, for
    /// tests of lazy expiry. Replicated, as an entry, and in the snapshot: both nodes must sweep alike.
    var isActiveExpiryOn = true
    /// Set while a `RESP3Entry`'s command is applied: a waiter registered then is answered in RESP3.
    var isReplyingInRESP3 = false
    /// The entry being applied made its asker wait (`KeyValueStore+Blocking`); reset when the entry is done.
    var isAskerWaiting = false
    /// Replies for waiters the entry being applied served or ended, by connection id; emptied when the entry is done.
    var deliveries: [(connectionID: UInt64, reply: [UInt8])] = []
    /// PUBLISH and PUBSUB commands the entry being applied left for its release (`ReleaseEnvelope`); emptied when
    /// the entry is done.
    var heldForRelease: [ReleaseEnvelope.Held] = []
    /// Where slow commands are noted (`KeyValueStore+SlowLog`); node-local, nil for none.
    var slowLog: SlowLog?
    /// This node's `notify-keyspace-events` (`KeyValueStore+Notifications`); node-local, nil for none.
    var keyspaceEventSettings: KeyspaceEventSettings?
    /// The event classes notified while the current entry is applied, read from `keyspaceEventSettings` as it starts;
    /// empty between entries, so a read's copy of the store notifies nothing.
    var notifiedEvents: KeyspaceEvents = []
    /// Keys the current command deleted because it left their collections empty, whose `del` events are still to
    /// follow the command's own (`noteEmptied`); only while notifying.
    var emptiedKeys: [[UInt8]] = []
    /// The data command the command `applyTimed` is timing ran, for the slow log's `CommandStatistics`: the first one
    /// to start, so a blocking pop is counted and not the pop it runs inside; nil until one starts.
    var execution: CommandStatistics.Execution?

    /// An empty store: what a new cluster serves from and a joining backup restores over.
    public init() {}

    /// The time source of one command: the recorded wall clock, read on first use and then reused.
    typealias Clock = () -> Int64

    /// Runs `body` with a `Clock` over `context`: one recorded read at most, on first use. (The hottest paths,
    /// `applyCommand` and the reads, spell it out, which the optimiser turns into less work per command.)
    static func withClock<Result>(_ context: inout ApplyContext, _ body: (Clock) -> Result) -> Result {
        var cachedNanoseconds: Int64?
        return body {
            if let cachedNanoseconds { return cachedNanoseconds }
            let now = context.wallClockNanoseconds()
            cachedNanoseconds = now
            return now
        }
    }

    /// Executes one command encoded by `KeyValueCommand` and returns its RESP reply (`apply` times it).
    ///
    /// Malformed bytes, unknown commands and wrong arity get Redis's error replies (the frontend normally
    /// refuses the last two before they reach the log); they change nothing and read no nondeterminism.
    mutating func applyCommand(_ command: [UInt8], context: inout ApplyContext) -> [UInt8] {
        let arguments: CommandArguments
        do {
            arguments = try CommandArguments(decoding: command)
        } catch {
            return RESPWriter.error("ERR \(error)")
        }
        guard !arguments.isEmpty else { return RESPWriter.error("ERR empty command") }
        guard let (command, ordinal) = CommandName(arguments.bytes(at: 0)).flatMap(DataCommand.entry(name:)) else {
            if let kind = CommandName(arguments.bytes(at: 0)).flatMap(TransactionEntry.Kind.init(name:)) {
                return applyTransactionEntry(kind, arguments, context: &context)
            }
            if ASCII.equals(arguments.bytes(at: 0), "session") { return applySession(arguments, context: &context) }
            if ASCII.equals(arguments.bytes(at: 0), "publish") { return applyPublish(arguments) }
            if ASCII.equals(arguments.bytes(at: 0), "debug") { return applyDebug(arguments, context: &context) }
            if let name = CommandName(arguments.bytes(at: 0)), DatabaseEntry.isEntry(name) {
                return applyInDatabase(arguments, context: &context)
            }
            if let name = CommandName(arguments.bytes(at: 0)), RESP3Entry.isEntry(name) {
                return applyInRESP3(arguments, context: &context)
            }
            if let name = CommandName(arguments.bytes(at: 0)), BlockingEntry.isBlock(name) {
                return applyBlock(arguments, context: &context)
            }
            if let name = CommandName(arguments.bytes(at: 0)), BlockingEntry.isUnblock(name) {
                return applyUnblock(arguments)
            }
            if let name = CommandName(arguments.bytes(at: 0)), NoReplyEntry.isEntry(name) {
                guard let command = NoReplyEntry.command(arguments) else {
                    return RESPWriter.error("ERR malformed \(NoReplyEntry.name) entry; nothing was done")
                }
                _ = applyCommand(command, context: &context)
                return []
            }
            return Replies.unknownCommand(Array(arguments))
        }
        guard command.accepts(argumentCount: arguments.count) else { return Replies.wrongArity(command.rawValue) }
        if slowLog != nil, execution == nil {
            execution = CommandStatistics.Execution(
                slot: CommandStatistics.slot(command, ordinal: ordinal, arguments: arguments))
        }
        // Before the clock below exists: capturing the context for randomness too would cost every SET a heap box.
        if let kind = command.collectionKind { return applyCollection(kind, command, arguments, context: &context) }
        var cachedNanoseconds: Int64?
        func clock() -> Int64 {
            if let cachedNanoseconds { return cachedNanoseconds }
            let now = context.wallClockNanoseconds()
            cachedNanoseconds = now
            return now
        }
        if command == .randomkey {
            guard count > 0 else { return Replies.nullBulk }
            let seed = context.randomValue()
            return randomKey(seed: seed, clock: clock)
        }
        return execute(command, arguments, clock: clock)
    }

    /// Executes a string or keyspace command; `apply` sends the collection commands to `executeCollection`, which
    /// keeps this dispatch (and the string commands it inlines) as small as the hot path needs.
    mutating func execute(_ command: DataCommand, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        switch command {
        case .get: get(arguments, clock: clock)
        case .set: set(arguments, clock: clock)
        case .setnx: setIfAbsent(arguments, clock: clock)
        case .setex: setWithExpiry(arguments, unitMilliseconds: 1000, clock: clock)
        case .psetex: setWithExpiry(arguments, unitMilliseconds: 1, clock: clock)
        case .getset: getSet(arguments, clock: clock)
        case .getdel: getDelete(arguments, clock: clock)
        case .del, .unlink: delete(arguments, clock: clock)
        case .exists: exists(arguments, clock: clock)
        case .type: type(arguments, clock: clock)
        case .keys: matchingKeys(arguments, clock: clock)
        case .dbsize: RESPWriter.integer(Int64(count))
        case .randomkey: preconditionFailure("RANDOMKEY is answered before dispatch, with its random value")
        case .flushall, .flushdb: flush(arguments, allDatabases: command == .flushall)
        case .select: Self.select(arguments[1])
        case .swapdb: swapDatabases(arguments, clock: clock)
        case .move: move(arguments, clock: clock)
        case .incr: incrementBy(arguments.key(at: 1), 1, clock: clock)
        case .decr: incrementBy(arguments.key(at: 1), -1, clock: clock)
        case .incrby, .decrby: incrementBy(arguments, isDecrement: command == .decrby, clock: clock)
        case .append: append(arguments, clock: clock)
        case .strlen: stringLength(arguments, clock: clock)
        case .mget: multipleGet(arguments, clock: clock)
        case .mset: multipleSet(arguments, onlyIfNoneExist: false, clock: clock)
        case .msetnx: multipleSet(arguments, onlyIfNoneExist: true, clock: clock)
        case .expire: expire(arguments, command, unitMilliseconds: 1000, isAbsolute: false, clock: clock)
        case .pexpire: expire(arguments, command, unitMilliseconds: 1, isAbsolute: false, clock: clock)
        case .expireat: expire(arguments, command, unitMilliseconds: 1000, isAbsolute: true, clock: clock)
        case .pexpireat: expire(arguments, command, unitMilliseconds: 1, isAbsolute: true, clock: clock)
        case .ttl: timeToLive(arguments, inMilliseconds: false, isAbsolute: false, clock: clock)
        case .pttl: timeToLive(arguments, inMilliseconds: true, isAbsolute: false, clock: clock)
        case .expiretime: timeToLive(arguments, inMilliseconds: false, isAbsolute: true, clock: clock)
        case .pexpiretime: timeToLive(arguments, inMilliseconds: true, isAbsolute: true, clock: clock)
        case .persist: persist(arguments, clock: clock)
        case .time: time(clock: clock)
        case .getex, .getrange, .substr, .setrange, .incrbyfloat, .setbit, .getbit, .bitcount, .bitpos, .bitop, .lcs,
            .rename, .renamenx, .copy, .touch, .object, .memory, .dump, .restore:
            executeStringOrKey(command, arguments, clock: clock)
        case .scan: scan(arguments, clock: clock)
        case .sort, .sortReadOnly: sort(arguments, isReadOnly: command == .sortReadOnly, clock: clock)
        default: preconditionFailure("\(command) is a collection command, for executeCollection")
        }
    }

    /// Unix milliseconds from a nanosecond clock reading, rounded down.
    static func milliseconds(_ nanoseconds: Int64) -> Int64 {
        nanoseconds >= 0 ? nanoseconds / 1_000_000 : (nanoseconds + 1) / 1_000_000 - 1
    }
}

// MARK: - Storage primitives: every mutation goes through these, which keep the shards, the totals and the layout.

extension KeyValueStore {
    /// The shard that holds (or would hold) a key with `hash`, by linear hashing.
    @inline(__always)
    static func shardIndex(hash: UInt64, level: Int, splitPointer: Int) -> Int {
        let low = Int(truncatingIfNeeded: hash & ((1 << UInt64(level)) &- 1))
        guard low < splitPointer else { return low }
        return Int(truncatingIfNeeded: hash & ((1 << UInt64(level + 1)) &- 1))
    }

    /// The resolution in bits of the hash class of `cursor`'s low bits in a linear-hashing table (`ScanCursor`): a
    /// shard below the split pointer was split this round and covers one more bit.
    static func classBits(of cursor: UInt64, level: Int, splitPointer: Int) -> Int {
        Int(truncatingIfNeeded: cursor & ((1 << UInt64(level)) &- 1)) < splitPointer ? level + 1 : level
    }

    /// Moves a linear-hashing table's split pointer past the shard it splits next; returns that shard and the hash
    /// bit that sends a key from it to the new last shard.
    static func advanceSplitPointer(level: inout Int, splitPointer: inout Int) -> (source: Int, bit: UInt64) {
        let split = (splitPointer, UInt64(1) << UInt64(level))
        splitPointer += 1
        if splitPointer == 1 << level {
            level += 1
            splitPointer = 0
        }
        return split
    }

    /// Moves the split pointer back to the shard the last shard merges into (a split undone); returns that shard.
    static func retreatSplitPointer(level: inout Int, splitPointer: inout Int) -> Int {
        if splitPointer == 0 {
            level -= 1
            splitPointer = 1 << level
        }
        splitPointer -= 1
        return splitPointer
    }

    /// The shard that holds (or would hold) a key with `hash`.
    @inline(__always)
    func shardIndex(hash: UInt64) -> Int {
        Self.shardIndex(hash: hash, level: level, splitPointer: splitPointer)
    }

    /// Runs `body` on shard `index` in place, which changes `key`, and moves the totals by what it changed
    /// (`KeyValueStore+Kinds.swift` uses it too).
    ///
    /// Every write of a key comes through here, so this is where a change spoils the watches of the key (Redis's
    /// `signalModifiedKey`): a new primitive cannot forget to, since it must name the key it changes.
    @inline(__always)
    mutating func updateShard<Result>(
        _ index: Int, touching key: StoreKey, _ body: (inout StoreShard) -> Result
    ) -> Result {
        let before = totals(ofShard: index, touching: key)
        let result = body(&shards[index])
        noteUpdate(of: index, since: before, touching: key)
        return result
    }

    /// What a shard's totals were before a write, for `noteUpdate`, which follows it (`updateShard` and a
    /// collection's update are both halves around one write).
    struct ShardTotals {
        let count: Int, expiringCount: Int, digestSum: UInt64, byteCount: Int, memoryByteCount: Int
        /// Whether the key was there: read only while some connection watches a key.
        let wasPresent: Bool
    }

    /// Shard `index`'s totals now, before a write to `key`.
    @inline(__always)
    func totals(ofShard index: Int, touching key: StoreKey) -> ShardTotals {
        // The shard is asked directly, not through `isPresent(_:inShard:)`: calling that method of the store from
        // here, inside a collection's update, copied the whole store for every write, watched keys or not.
        ShardTotals(
            count: shards[index].count, expiringCount: shards[index].expiringCount, digestSum: shards[index].digestSum,
            byteCount: shards[index].byteCount, memoryByteCount: shards[index].memoryByteCount,
            wasPresent: watchedKeys.isEmpty ? false : shards[index].find(key, hash: ShardHash.of(key.bytes)) != nil)
    }

    /// Moves the store's totals by what a write to `key` in shard `index` changed since `before`.
    @inline(__always)
    mutating func noteUpdate(of index: Int, since before: ShardTotals, touching key: StoreKey) {
        count += shards[index].count - before.count
        expiringCount += shards[index].expiringCount - before.expiringCount
        digestSum = digestSum &- before.digestSum &+ shards[index].digestSum
        byteCount += shards[index].byteCount - before.byteCount
        memoryByteCount += shards[index].memoryByteCount - before.memoryByteCount
        if !watchedKeys.isEmpty { touchWatchedKey(key, inShard: index, wasPresent: before.wasPresent) }
        if !blocked.isEmpty { blocked.noteWritten(BlockedClients.Key(database: selectedDatabase, key: Array(key.bytes))) }
    }

    /// What a string command finds at a key.
    enum LiveString {
        case missing, wrongType
        /// The value, viewing the shard's storage: let it go before the next write, which would otherwise copy the
        /// shard.
        case value(ArraySlice<UInt8>)
    }

    /// The string value of `key` if it exists and has not expired; an expired key is deleted (lazy expiry).
    /// Reads the clock only when the key has a TTL.
    mutating func liveValue(_ key: StoreKey, clock: Clock) -> LiveString {
        guard let (index, slot) = liveSlot(key, clock: clock) else { return .missing }
        guard let value = shards[index].value(at: slot) else { return .wrongType }
        return .value(value)
    }

    /// Whether `key` exists and has not expired; an expired key is deleted.
    mutating func isLive(_ key: StoreKey, clock: Clock) -> Bool {
        liveSlot(key, clock: clock) != nil
    }

    /// Where `key` sits (its shard and slot) if it exists and has not expired; an expired key is deleted.
    @inline(__always)
    mutating func liveSlot(_ key: StoreKey, clock: Clock) -> (shard: Int, slot: StoreShard.Slot)? {
        let hash = ShardHash.of(key.bytes)
        let index = shardIndex(hash: hash)
        guard let slot = shards[index].find(key, hash: hash) else { return nil }
        if let expiresAt = shards[index].expiry(at: slot), Self.milliseconds(clock()) > expiresAt {
            removeExpired(key)
            return nil
        }
        return (index, slot)
    }

    /// The TTL of `key`, which exists: nil when it has none.
    func expiry(of key: StoreKey) -> Int64? {
        let hash = ShardHash.of(key.bytes)
        let index = shardIndex(hash: hash)
        return shards[index].expiry(at: shards[index].find(key, hash: hash)!)
    }

    /// The length of the value of `key`, which exists.
    func valueCount(of key: StoreKey) -> Int {
        let hash = ShardHash.of(key.bytes)
        let index = shardIndex(hash: hash)
        return shards[index].valueCount(at: shards[index].find(key, hash: hash)!)
    }

    /// Creates or overwrites `key` with `value` and the given TTL (nil: none); a created key is notified `new`.
    mutating func store(_ value: ArraySlice<UInt8>, for key: StoreKey, expiresAtMilliseconds: Int64?) {
        let hash = ShardHash.of(key.bytes)
        let oldCount = count
        updateShard(shardIndex(hash: hash), touching: key) {
            $0.store(value, for: key, hash: hash, expiresAtMilliseconds: expiresAtMilliseconds)
        }
        if count > oldCount {
            notifyCreated(key)
            if count > shards.count * Self.shardLoadBound { splitShard() }
        }
    }

    /// Replaces the value of an existing `key`, keeping its TTL (INCR).
    mutating func replaceValue(_ value: [UInt8], for key: StoreKey) {
        let hash = ShardHash.of(key.bytes)
        updateShard(shardIndex(hash: hash), touching: key) { $0.replaceValue(value, for: key, hash: hash) }
    }

    /// Appends to the value of an existing `key` in place and returns the new length.
    mutating func appendValue(_ suffix: [UInt8], for key: StoreKey) -> Int {
        let hash = ShardHash.of(key.bytes)
        return updateShard(shardIndex(hash: hash), touching: key) { $0.appendValue(suffix, for: key, hash: hash) }
    }

    /// Sets or clears the TTL of an existing `key`.
    mutating func setExpiry(_ expiresAtMilliseconds: Int64?, for key: StoreKey) {
        let hash = ShardHash.of(key.bytes)
        updateShard(shardIndex(hash: hash), touching: key) { $0.setExpiry(expiresAtMilliseconds, for: key, hash: hash) }
    }

    /// Deletes `key`; returns whether it was there (expired or not).
    @discardableResult
    mutating func remove(_ key: StoreKey) -> Bool {
        let hash = ShardHash.of(key.bytes)
        let removed = updateShard(shardIndex(hash: hash), touching: key) { $0.remove(key, hash: hash) }
        if removed && shards.count > 1 && count < shards.count * Self.shardLoadBound / 4 { mergeShard() }
        return removed
    }

    /// Splits the shard at the split pointer into itself and a new last shard: the keys whose hash has bit `level`
    /// set move. O(one shard).
    mutating func splitShard() {
        let (source, bit) = Self.advanceSplitPointer(level: &level, splitPointer: &splitPointer)
        var added = StoreShard()
        shards[source].split(into: &added) { $0 & bit != 0 }
        shards.append(added)
    }

    /// Merges the last shard back into the one it split from (the reverse of `splitShard`). O(one shard).
    private mutating func mergeShard() {
        let target = Self.retreatSplitPointer(level: &level, splitPointer: &splitPointer)
        let last = shards.removeLast()
        shards[target].absorb(last)
    }

    /// From shard `start` on (wrapping), the first of at most `scanLimit` shards for which `isWanted` holds.
    func shardIndex(from start: Int, scanLimit: Int, where isWanted: (StoreShard) -> Bool) -> Int? {
        var index = start
        for _ in 0..<min(scanLimit, shards.count) {
            if isWanted(shards[index]) { return index }
            index += 1
            if index == shards.count { index = 0 }
        }
        return nil
    }

    /// The stored value of `key`, expired or not; for tests.
    func storedValue(_ key: StoreKey) -> [UInt8]? {
        let hash = ShardHash.of(key.bytes)
        let index = shardIndex(hash: hash)
        return shards[index].find(key, hash: hash).flatMap { shards[index].value(at: $0).map(Array.init) }
    }

    /// The bytes held for the value of `key`, which may exceed its length; for tests of what an overwrite keeps.
    func storedValueCapacity(_ key: StoreKey) -> Int? {
        let hash = ShardHash.of(key.bytes)
        let index = shardIndex(hash: hash)
        return shards[index].find(key, hash: hash).map { shards[index].valueCapacity(at: $0) }
    }

    /// Checks that the shards, the totals and the layout agree, in every database; for tests and debug builds.
    func checkInvariants() {
        checkSelectedInvariants()
        checkParkedInvariants()
    }

    /// `checkInvariants` for the selected database.
    func checkSelectedInvariants() {
        precondition(splitPointer < 1 << level, "the split pointer passed the end of the round")
        precondition(shards.count == (1 << level) + splitPointer, "the shard count does not match level and pointer")
        var keys = 0, expiring = 0, bytes = 0, memory = 0
        var sum: UInt64 = 0
        for (index, shard) in shards.enumerated() {
            shard.checkInvariants { shardIndex(hash: $0) == index }
            keys += shard.count
            expiring += shard.expiringCount
            bytes += shard.byteCount
            memory += shard.memoryByteCount
            sum &+= shard.digestSum
        }
        precondition(keys == count, "DBSIZE drifted from the shards")
        precondition(expiring == expiringCount, "the TTL count drifted from the shards")
        precondition(bytes == byteCount, "the byte count drifted from the shards")
        precondition(memory == memoryByteCount, "the memory count drifted from the shards")
        precondition(sum == digestSum, "the incremental digest drifted from the shards")
    }
}
