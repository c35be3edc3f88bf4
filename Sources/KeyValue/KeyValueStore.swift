import Replication

/// The bundled application: a Redis-compatible store of string values, replicated as a `StateMachine`.
///
/// Everything a reply or the state depends on is deterministic given the command and the `ApplyContext`:
/// time comes only from `context.wallClockNanoseconds()` (read at most once per command, and only by commands
/// that set a TTL, meet a key with one, or ask for the time), randomness only from `context.randomValue()`.
/// Nothing depends on `Dictionary` order, which differs per process: the dictionary is only ever looked up,
/// while the order that random picks and `KEYS` use lives in two arrays that every replica builds the same
/// way (swap-remove keeps deletion O(1) without disturbing determinism).
public struct KeyValueStore: SmallStateMachine, Sendable {
    /// One key's value, its TTL, and where the key sits in the sampling arrays.
    struct Entry: Sendable {
        var value: [UInt8]
        /// Unix time in milliseconds after which the key no longer exists; nil when it has no TTL.
        var expiresAtMilliseconds: Int64?
        /// Index of the key in `keys`.
        var position: Int
        /// Index of the key in `keysWithExpiry`, or -1 when it has no TTL.
        var expiryPosition: Int
        /// FNV-1a state after the key and the value, kept so APPEND extends the digest instead of rehashing.
        var contentHash: UInt64
    }

    /// Keys sampled per active-expiry round; Redis's `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`.
    ///
    /// A constant rather than a setting, because both replicas must sample identically.
    public static let activeExpirySampleLimit = 20
    /// Rounds per tick; another round runs only while more than a quarter of a round's sample had expired,
    /// as in Redis, so a tick deletes at most 320 keys and one log entry never stands for unbounded work.
    public static let activeExpiryRoundsLimit = 16
    /// Keys RANDOMKEY examines (deleting the expired ones) before giving up with a null reply.
    public static let randomKeyProbesLimit = 128
    /// Largest value APPEND may build; Redis's `proto-max-bulk-len` default, 512 MiB.
    public static let valueBytesLimit = 512 << 20

    // The four stored properties below change together, only through the primitives at the end of this file
    // (and `restore`, which builds them whole); `checkInvariants()` says how they relate.
    var entries: [StoreKey: Entry] = [:]
    /// Every key, in the order RANDOMKEY and KEYS see them.
    var keys: [StoreKey] = []
    /// Every key with a TTL, in the order active expiry samples them.
    var keysWithExpiry: [StoreKey] = []
    /// Wrapping sum of every entry's hash: the digest, kept up to date by each mutation.
    var digestSum: UInt64 = 0

    /// An empty store: what a new cluster serves from and a joining backup restores over.
    public init() {}

    /// Keys stored, including any that have expired but were not yet deleted (what DBSIZE reports).
    public var count: Int { keys.count }

    /// The time source of one command: the recorded wall clock, read on first use and then reused.
    typealias Clock = () -> Int64

    /// Executes one command encoded by `KeyValueCommand` and returns its RESP reply.
    ///
    /// Malformed bytes, unknown commands and wrong arity get Redis's error replies (the frontend normally
    /// refuses the last two before they reach the log); they change nothing and read no nondeterminism.
    public mutating func apply(_ command: [UInt8], context: inout ApplyContext) -> [UInt8] {
        let arguments: CommandArguments
        do {
            arguments = try CommandArguments(decoding: command)
        } catch {
            return RESPWriter.error("ERR \(error)")
        }
        guard !arguments.isEmpty else { return RESPWriter.error("ERR empty command") }
        guard let command = CommandName(arguments.bytes(at: 0)).flatMap(DataCommand.init(name:)) else {
            return Replies.unknownCommand(Array(arguments))
        }
        guard command.accepts(argumentCount: arguments.count) else { return Replies.wrongArity(command.rawValue) }
        var cachedNanoseconds: Int64?
        func clock() -> Int64 {
            if let cachedNanoseconds { return cachedNanoseconds }
            let now = context.wallClockNanoseconds()
            cachedNanoseconds = now
            return now
        }
        if command == .randomkey {
            guard !keys.isEmpty else { return Replies.nullBulk }
            let seed = context.randomValue()
            return randomKey(seed: seed, clock: clock)
        }
        return execute(command, arguments, clock: clock)
    }

    private mutating func execute(_ command: DataCommand, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
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
        case .dbsize: RESPWriter.integer(Int64(keys.count))
        case .randomkey: preconditionFailure("RANDOMKEY is answered before dispatch, with its random value")
        case .flushall, .flushdb: flush(arguments)
        case .select: Self.select(arguments[1])
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
        }
    }

    /// Unix milliseconds from a nanosecond clock reading, rounded down.
    static func milliseconds(_ nanoseconds: Int64) -> Int64 {
        nanoseconds >= 0 ? nanoseconds / 1_000_000 : (nanoseconds + 1) / 1_000_000 - 1
    }
}

// MARK: - Storage primitives: every mutation goes through these, which keep the arrays and the digest.

extension KeyValueStore {
    /// The value of `key` if it exists and has not expired; an expired key is deleted (lazy expiry).
    ///
    /// Reads the clock only when the key has a TTL.
    mutating func liveValue(_ key: StoreKey, clock: Clock) -> [UInt8]? {
        guard let entry = entries[key] else { return nil }
        if let expiresAt = entry.expiresAtMilliseconds, Self.milliseconds(clock()) > expiresAt {
            remove(key)
            return nil
        }
        return entry.value
    }

    /// Whether `key` exists and has not expired; an expired key is deleted.
    mutating func isLive(_ key: StoreKey, clock: Clock) -> Bool {
        guard let expiresAt = entries[key].map({ $0.expiresAtMilliseconds }) else { return false }
        if let expiresAt, Self.milliseconds(clock()) > expiresAt {
            remove(key)
            return false
        }
        return true
    }

    /// Creates or overwrites `key` with `value` and the given TTL (nil: none).
    ///
    /// An overwrite hashes the key once (the entry is found, then written back at its index); a new key twice.
    mutating func store(_ value: ArraySlice<UInt8>, for key: StoreKey, expiresAtMilliseconds: Int64?) {
        let contentHash = Self.contentHash(key: key.bytes, value: value)
        guard let index = entries.index(forKey: key) else {
            let key = key.owned
            var entry = Entry(
                value: Array(value), expiresAtMilliseconds: nil, position: keys.count, expiryPosition: -1,
                contentHash: contentHash)
            keys.append(key)
            let vacatedExpiryPosition = updateExpiry(of: key, in: &entry, to: expiresAtMilliseconds)
            precondition(vacatedExpiryPosition == nil, "a new key left a TTL it never had")
            digestSum &+= Self.entryHash(entry)
            entries[key] = entry
            return
        }
        digestSum &-= Self.entryHash(entries.values[index])
        // In place, through the dictionary's accessor, before anything copies the entry: a copy would share the
        // value, and writing to a shared value allocates.
        Self.overwrite(&entries.values[index].value, with: value)
        if expiresAtMilliseconds == nil, entries.values[index].expiryPosition < 0 {
            // No TTL before or after (a plain SET): nothing else changes, so no copy of the entry (and its value).
            entries.values[index].contentHash = contentHash
            digestSum &+= Self.entryHash(entries.values[index])
            return
        }
        var entry = entries.values[index]
        entry.contentHash = contentHash
        // The stored key: `key` may view a command's bytes, and the TTL order keeps what it is given.
        let vacatedExpiryPosition = updateExpiry(of: entries.keys[index], in: &entry, to: expiresAtMilliseconds)
        digestSum &+= Self.entryHash(entry)
        entries.values[index] = entry
        if let vacatedExpiryPosition { removeFromExpiryOrder(at: vacatedExpiryPosition) }
    }

    /// Replaces `stored` with `bytes`, in its own buffer when that is not much larger than needed: an overwrite of a
    /// value of similar size then costs no allocation and no free. A buffer more than twice the size (plus a little)
    /// is let go, so a key that once held a large value does not keep its memory.
    private static func overwrite(_ stored: inout [UInt8], with bytes: ArraySlice<UInt8>) {
        if stored.capacity <= 2 * bytes.count + 32 {
            stored.replaceSubrange(stored.indices, with: bytes)
        } else {
            stored = Array(bytes)
        }
    }

    /// Replaces the value of an existing `key`, keeping its TTL (INCR).
    mutating func replaceValue(_ value: [UInt8], for key: StoreKey) {
        let index = entries.index(forKey: key)!
        digestSum &-= Self.entryHash(entries.values[index])
        entries.values[index].value = value
        entries.values[index].contentHash = Self.contentHash(key: key.bytes, value: value[...])
        digestSum &+= Self.entryHash(entries.values[index])
    }

    /// Appends to the value of an existing `key` in place and returns the new length.
    ///
    /// Works through the dictionary's in-place accessor (a copied entry would share, then copy, the whole
    /// value), and the hash continues from the stored FNV state, so repeated APPENDs stay O(appended bytes).
    mutating func appendValue(_ suffix: [UInt8], for key: StoreKey) -> Int {
        let index = entries.index(forKey: key)!
        digestSum &-= Self.entryHash(entries.values[index])
        entries.values[index].value.append(contentsOf: suffix)
        entries.values[index].contentHash = Self.fnv1a(suffix, from: entries.values[index].contentHash)
        digestSum &+= Self.entryHash(entries.values[index])
        return entries.values[index].value.count
    }

    /// Sets or clears the TTL of an existing `key`.
    mutating func setExpiry(_ expiresAtMilliseconds: Int64?, for key: StoreKey) {
        let index = entries.index(forKey: key)!
        var entry = entries.values[index]
        digestSum &-= Self.entryHash(entry)
        // The stored key: `key` may view a command's bytes, and the TTL order keeps what it is given.
        let vacatedExpiryPosition = updateExpiry(of: entries.keys[index], in: &entry, to: expiresAtMilliseconds)
        digestSum &+= Self.entryHash(entry)
        entries.values[index] = entry
        if let vacatedExpiryPosition { removeFromExpiryOrder(at: vacatedExpiryPosition) }
    }

    /// Sets `entry`'s TTL, appending `key` to `keysWithExpiry` when it gains one.
    ///
    /// When the key loses its TTL, returns the place it leaves in `keysWithExpiry`, for the caller to remove
    /// once `entry` is stored: the removal moves another key there and updates that key's entry, which would
    /// invalidate a dictionary index the caller still holds.
    private mutating func updateExpiry(
        of key: StoreKey, in entry: inout Entry, to expiresAtMilliseconds: Int64?
    ) -> Int? {
        var vacatedExpiryPosition: Int?
        if expiresAtMilliseconds != nil && entry.expiryPosition < 0 {
            entry.expiryPosition = keysWithExpiry.count
            keysWithExpiry.append(key)
        } else if expiresAtMilliseconds == nil && entry.expiryPosition >= 0 {
            vacatedExpiryPosition = entry.expiryPosition
            entry.expiryPosition = -1
        }
        entry.expiresAtMilliseconds = expiresAtMilliseconds
        return vacatedExpiryPosition
    }

    /// Deletes `key`; returns whether it was there (expired or not).
    @discardableResult
    mutating func remove(_ key: StoreKey) -> Bool {
        guard let entry = entries.removeValue(forKey: key) else { return false }
        digestSum &-= Self.entryHash(entry)
        let lastPosition = keys.count - 1
        if entry.position != lastPosition {
            let moved = keys[lastPosition]
            keys[entry.position] = moved
            entries[moved]!.position = entry.position
        }
        keys.removeLast()
        if entry.expiryPosition >= 0 { removeFromExpiryOrder(at: entry.expiryPosition) }
        return true
    }

    /// Deletes every key (FLUSHALL).
    mutating func removeAll() {
        entries = [:]
        keys = []
        keysWithExpiry = []
        digestSum = 0
    }

    /// Swap-removes position `position` of `keysWithExpiry`, fixing the moved key's entry.
    private mutating func removeFromExpiryOrder(at position: Int) {
        let lastPosition = keysWithExpiry.count - 1
        if position != lastPosition {
            let moved = keysWithExpiry[lastPosition]
            keysWithExpiry[position] = moved
            entries[moved]!.expiryPosition = position
        }
        keysWithExpiry.removeLast()
    }

    /// Checks that the dictionary, both arrays and the digest agree; for tests and debug builds.
    func checkInvariants() {
        precondition(entries.count == keys.count, "a key is in the dictionary but not the key order, or back")
        var expiring = 0
        var sum: UInt64 = 0
        for (position, key) in keys.enumerated() {
            guard let entry = entries[key] else { preconditionFailure("the key order holds a deleted key") }
            precondition(entry.position == position, "an entry's position does not point back at its key")
            precondition(
                entry.contentHash == Self.contentHash(key: key.bytes, value: entry.value[...]),
                "an entry's hash is stale")
            if entry.expiresAtMilliseconds != nil {
                expiring += 1
                precondition(keysWithExpiry[entry.expiryPosition] == key, "a key with a TTL is not in the TTL order")
            } else {
                precondition(entry.expiryPosition == -1, "a key without a TTL claims a place in the TTL order")
            }
            sum &+= Self.entryHash(entry)
        }
        precondition(expiring == keysWithExpiry.count, "the TTL order holds keys without a TTL")
        precondition(sum == digestSum, "the incremental digest drifted from the entries")
    }
}
