import Replication

/// Keys of every kind: looking a key's kind up, and reading, changing, creating and replacing collections.
///
/// These build on the storage primitives of `KeyValueStore.swift` and keep their rules: an expired key is deleted
/// when met (lazy expiry), a collection left empty deletes its key, and every change moves the totals and digest.
extension KeyValueStore {
    /// The source of a command's randomness: the recorded random values, drawn only by the commands that need one.
    typealias Random = () -> UInt64

    /// `apply` for a command on a collection of `kind`, with the recorded clock and randomness.
    @inline(never)
    mutating func applyCollection(
        _ kind: ValueKind, _ command: DataCommand, _ arguments: CommandArguments, context: inout ApplyContext
    ) -> [UInt8] {
        if command.isBlocking { return applyWithoutBlocking(arguments, context: &context) }
        // One recorded clock read per command, as `applyCommand` caches it; but a cache in a local variable here,
        // captured by a clock handed to the commands' own functions, cost every command a heap box.
        let freezes = !context.isClockFrozen
        if freezes { context.freezeClock() }
        defer { if freezes { context.thawClock() } }
        func clock() -> Int64 { context.wallClockNanoseconds() }
        func random() -> UInt64 { context.randomValue() }
        return executeCollection(kind, command, arguments, clock: clock, random: random)
    }

    /// Executes a command on a collection of `kind` (`DataCommand.collectionKind`).
    mutating func executeCollection(
        _ kind: ValueKind, _ command: DataCommand, _ arguments: CommandArguments, clock: Clock, random: Random
    ) -> [UInt8] {
        if command == .hscan || command == .sscan || command == .zscan {
            return scanCollection(kind, arguments, clock: clock)
        }
        return switch kind {
        case .hash: executeHash(command, arguments, clock: clock, random: random)
        case .set: executeSet(command, arguments, clock: clock, random: random)
        case .list: executeList(command, arguments, clock: clock)
        case .sortedSet: executeSortedSet(command, arguments, clock: clock, random: random)
        case .string: preconditionFailure("\(command) is no collection command")
        }
    }

    /// What a command for one kind of collection finds at a key.
    enum CollectionLookup {
        case missing, wrongType
        /// The collection; it shares the shard's storage, so let it go before writing to the key.
        case found(CollectionValue)
    }

    /// The kind of `key` if it exists and has not expired; an expired key is deleted.
    mutating func liveKind(_ key: StoreKey, clock: Clock) -> ValueKind? {
        // One lookup for both the check and the kind: every collection command starts here.
        guard let (index, slot) = liveSlot(key, clock: clock) else { return nil }
        return shards[index].kind(at: slot)
    }

    /// The collection of `kind` at `key`, for a command that only reads it.
    mutating func liveCollection(_ key: StoreKey, _ kind: ValueKind, clock: Clock) -> CollectionLookup {
        guard let (index, slot) = liveSlot(key, clock: clock) else { return .missing }
        guard shards[index].kind(at: slot) == kind else { return .wrongType }
        return .found(shards[index].collection(at: slot))
    }

    /// Runs `body` on the collection of `kind` at `key` in place, or on an empty one when the key is missing (which
    /// is stored if `body` leaves it non-empty); a collection left empty deletes the key. Nil, with nothing run,
    /// when the key holds another kind: the caller answers WRONGTYPE.
    mutating func updateCollection<Result>(
        _ key: StoreKey, _ kind: ValueKind, clock: Clock, _ body: (inout CollectionValue) -> Result
    ) -> Result? {
        // One lookup: the slot that told the kind is the one updated, as nothing moves in between.
        guard let (index, slot) = liveSlot(key, clock: clock) else {
            var fresh = CollectionValue(kind: kind)
            let result = body(&fresh)
            if fresh.count > 0 { insert(fresh, for: key) }
            return result
        }
        guard shards[index].kind(at: slot) == kind else { return nil }
        // `body` goes to the shard as it came, in no closure of ours: each closure around it would copy what it
        // captured (often a command's arguments) once more.
        let before = totals(ofShard: index, touching: key)
        let (result, isEmpty) = shards[index].updateCollection(at: slot, body)
        noteUpdate(of: index, since: before, touching: key)
        if isEmpty {
            remove(key)
            noteEmptied(key)
        }
        return result
    }

    /// Makes `key` hold `collection` and no TTL, whatever it held before; an empty collection deletes the key
    /// (SINTERSTORE and its relatives). Returns whether the key existed (expired or not).
    @discardableResult
    mutating func replace(_ key: StoreKey, with collection: CollectionValue) -> Bool {
        let existed = remove(key)
        if collection.count > 0 { insert(collection, for: key, isNew: !existed) }
        return existed
    }

    /// Adds `key`, which must be absent, holding `collection`, which must not be empty; notified `new` unless the
    /// command only replaces what the key held (`isNew` false).
    mutating func insert(_ collection: CollectionValue, for key: StoreKey, isNew: Bool = true) {
        let hash = ShardHash.of(key.bytes)
        updateShard(shardIndex(hash: hash), touching: key) { $0.insert(collection, for: key, hash: hash) }
        if isNew { notifyCreated(key) }
        if count > shards.count * Self.shardLoadBound { splitShard() }
    }
}
