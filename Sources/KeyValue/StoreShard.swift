/// One partition of the store: a few hundred to a few thousand keys with their values, TTLs, orders and digest.
///
/// The store is an array of shards (`KeyValueStore`, linear hashing), so that no step touches the whole state:
/// growing the table splits one shard, and a snapshot shares the shards while a write afterwards copies only the
/// shard it touches (each shard's storage is copy-on-write on its own). Inside a shard the dictionary is only ever
/// looked up; the order that random picks, KEYS and the snapshot use lives in two arrays that every replica builds
/// the same way (swap-remove keeps deletion O(1) without disturbing determinism).
///
/// The rest of the store uses only the methods below (find, read, write, positions, build, split, absorb), so the
/// storage inside can change without touching the commands. Every method that takes a key takes its `ShardHash`
/// too, computed once by the store.
struct StoreShard: Sendable {
    /// One key's value, its TTL, and where the key sits in the two orders.
    struct Entry: Sendable {
        var value: [UInt8]
        /// Unix time in milliseconds after which the key no longer exists; nil when it has no TTL.
        var expiresAtMilliseconds: Int64?
        /// Index of the key in `keys`.
        var position: Int
        /// Index of the key in `keysWithExpiry`, or -1 when it has no TTL (or, while building, is not placed yet).
        var expiryPosition: Int
        /// FNV-1a state after the key and the value, kept so APPEND extends the digest instead of rehashing.
        var contentHash: UInt64
    }

    /// Where a found key is, valid until the shard next changes.
    typealias Slot = Dictionary<StoreKey, Entry>.Index

    // These change together, only through the methods below; `checkInvariants()` says how they relate.
    private var entries: [StoreKey: Entry] = [:]
    /// Every key, in the order RANDOMKEY, KEYS and the snapshot see them.
    private var keys: [StoreKey] = []
    /// Every key with a TTL, in the order active expiry samples them.
    private var keysWithExpiry: [StoreKey] = []
    /// Wrapping sum of every entry's hash: this shard's part of the digest.
    private(set) var digestSum: UInt64 = 0
    /// Bytes of keys and values, for the snapshot's size estimate.
    private(set) var byteCount = 0
    /// Keys with a TTL not yet placed in the TTL order; nonzero only while a split or a restore builds the shard.
    private(set) var unorderedExpiryCount = 0

    /// An empty shard.
    init() {}

    /// Keys in the shard, expired or not.
    var count: Int { keys.count }
    /// Keys in the shard's TTL order.
    var expiringCount: Int { keysWithExpiry.count }

    // MARK: Reading

    /// Where `key` is, or nil when it is not in the shard.
    @inline(__always)
    func find(_ key: StoreKey, hash: UInt64) -> Slot? {
        entries.index(forKey: key)
    }

    /// The value at `slot`.
    func value(at slot: Slot) -> [UInt8] { entries.values[slot].value }
    /// The length of the value at `slot`.
    func valueCount(at slot: Slot) -> Int { entries.values[slot].value.count }
    /// The bytes held for the value at `slot`, which may exceed its length; for tests of what an overwrite keeps.
    func valueCapacity(at slot: Slot) -> Int { entries.values[slot].value.capacity }
    /// The TTL of the key at `slot`.
    func expiry(at slot: Slot) -> Int64? { entries.values[slot].expiresAtMilliseconds }

    /// The key at `position` of the key order.
    func key(atPosition position: Int) -> StoreKey { keys[position] }
    /// The TTL of the key at `position` of the key order.
    func expiry(atPosition position: Int) -> Int64? { entries[keys[position]]!.expiresAtMilliseconds }
    /// The key at `position` of the TTL order, and its TTL.
    func expiringKey(atPosition position: Int) -> (key: StoreKey, expiresAtMilliseconds: Int64) {
        let key = keysWithExpiry[position]
        return (key, entries[key]!.expiresAtMilliseconds!)
    }

    /// The key at `position` of the key order with its value and TTL, as the snapshot writes them.
    func record(atPosition position: Int) -> (
        key: ArraySlice<UInt8>, value: ArraySlice<UInt8>, expiresAtMilliseconds: Int64?
    ) {
        let key = keys[position]
        let entry = entries[key]!
        return (key.bytes, entry.value[...], entry.expiresAtMilliseconds)
    }

    /// The key-order position of the key at `position` of the TTL order.
    func keyPosition(ofExpiryPosition position: Int) -> Int { entries[keysWithExpiry[position]]!.position }

    // MARK: Writing

    /// Creates or overwrites `key` with `value` and the given TTL (nil: none).
    ///
    /// An overwrite hashes the key once (the entry is found, then written back at its index); a new key twice.
    mutating func store(
        _ value: ArraySlice<UInt8>, for key: StoreKey, hash: UInt64, expiresAtMilliseconds: Int64?
    ) {
        let contentHash = KeyValueStore.contentHash(key: key.bytes, value: value)
        guard let index = entries.index(forKey: key) else {
            let key = key.owned
            var entry = Entry(
                value: Array(value), expiresAtMilliseconds: nil, position: keys.count, expiryPosition: -1,
                contentHash: contentHash)
            keys.append(key)
            let vacatedExpiryPosition = updateExpiry(of: key, in: &entry, to: expiresAtMilliseconds)
            precondition(vacatedExpiryPosition == nil, "a new key left a TTL it never had")
            digestSum &+= KeyValueStore.entryHash(contentHash: contentHash, expiresAtMilliseconds: expiresAtMilliseconds)
            byteCount += key.bytes.count + value.count
            entries[key] = entry
            return
        }
        digestSum &-= Self.entryHash(entries.values[index])
        byteCount += value.count - entries.values[index].value.count
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
    mutating func replaceValue(_ value: [UInt8], for key: StoreKey, hash: UInt64) {
        let index = entries.index(forKey: key)!
        digestSum &-= Self.entryHash(entries.values[index])
        byteCount += value.count - entries.values[index].value.count
        entries.values[index].value = value
        entries.values[index].contentHash = KeyValueStore.contentHash(key: key.bytes, value: value[...])
        digestSum &+= Self.entryHash(entries.values[index])
    }

    /// Appends to the value of an existing `key` in place and returns the new length.
    ///
    /// Works through the dictionary's in-place accessor (a copied entry would share, then copy, the whole
    /// value), and the hash continues from the stored FNV state, so repeated APPENDs stay O(appended bytes).
    mutating func appendValue(_ suffix: [UInt8], for key: StoreKey, hash: UInt64) -> Int {
        let index = entries.index(forKey: key)!
        digestSum &-= Self.entryHash(entries.values[index])
        byteCount += suffix.count
        entries.values[index].value.append(contentsOf: suffix)
        entries.values[index].contentHash = KeyValueStore.fnv1a(suffix, from: entries.values[index].contentHash)
        digestSum &+= Self.entryHash(entries.values[index])
        return entries.values[index].value.count
    }

    /// Sets or clears the TTL of an existing `key`.
    mutating func setExpiry(_ expiresAtMilliseconds: Int64?, for key: StoreKey, hash: UInt64) {
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
    mutating func remove(_ key: StoreKey, hash: UInt64) -> Bool {
        guard let entry = entries.removeValue(forKey: key) else { return false }
        digestSum &-= Self.entryHash(entry)
        byteCount -= key.bytes.count + entry.value.count
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

    private static func entryHash(_ entry: Entry) -> UInt64 {
        KeyValueStore.entryHash(contentHash: entry.contentHash, expiresAtMilliseconds: entry.expiresAtMilliseconds)
    }

    // MARK: Building (restore, split, absorb)

    /// Adds `key`, which must be new, at the end of the key order; a TTL leaves it out of the TTL order until
    /// `appendToExpiryOrder` places it. Returns false (changing nothing) when the key is already here.
    mutating func appendBuilding(
        key: StoreKey, value: [UInt8], expiresAtMilliseconds: Int64?, hash: UInt64, contentHash: UInt64? = nil
    ) -> Bool {
        guard entries.index(forKey: key) == nil else { return false }
        let contentHash = contentHash ?? KeyValueStore.contentHash(key: key.bytes, value: value[...])
        entries[key] = Entry(
            value: value, expiresAtMilliseconds: expiresAtMilliseconds, position: keys.count, expiryPosition: -1,
            contentHash: contentHash)
        keys.append(key)
        digestSum &+= KeyValueStore.entryHash(contentHash: contentHash, expiresAtMilliseconds: expiresAtMilliseconds)
        byteCount += key.bytes.count + value.count
        if expiresAtMilliseconds != nil { unorderedExpiryCount += 1 }
        return true
    }

    /// Places the key at key-order `position` next in the TTL order; false when it has no TTL or is placed already.
    mutating func appendToExpiryOrder(keyPosition position: Int) -> Bool {
        let key = keys[position]
        let index = entries.index(forKey: key)!
        guard entries.values[index].expiresAtMilliseconds != nil, entries.values[index].expiryPosition < 0 else {
            return false
        }
        entries.values[index].expiryPosition = keysWithExpiry.count
        keysWithExpiry.append(key)
        unorderedExpiryCount -= 1
        return true
    }

    /// Moves the keys for which `isMoved(hash)` holds into `other`, which must be empty (a linear-hashing split).
    ///
    /// Both shards keep the relative orders the keys had here, so every replica splits the same way. O(this shard).
    mutating func split(into other: inout StoreShard, isMoved: (UInt64) -> Bool) {
        precondition(other.count == 0, "a split fills an empty shard")
        var kept = StoreShard()
        for key in keys {
            let entry = entries[key]!
            let hash = ShardHash.of(key.bytes)
            let added =
                isMoved(hash) ? other.appendEntry(key, entry, hash: hash) : kept.appendEntry(key, entry, hash: hash)
            precondition(added, "a key appeared twice in one shard")
        }
        for key in keysWithExpiry {
            let hash = ShardHash.of(key.bytes)
            if isMoved(hash) {
                precondition(other.appendToExpiryOrder(key: key), "a split lost a TTL")
            } else {
                precondition(kept.appendToExpiryOrder(key: key), "a split lost a TTL")
            }
        }
        self = kept
    }

    /// Appends every key of `other` after this shard's keys, and its TTL order after this one's (a linear-hashing
    /// merge, the reverse of `split`). O(other).
    mutating func absorb(_ other: StoreShard) {
        for key in other.keys {
            let added = appendEntry(key, other.entries[key]!, hash: ShardHash.of(key.bytes))
            precondition(added, "a key appeared in two shards")
        }
        for key in other.keysWithExpiry {
            precondition(appendToExpiryOrder(key: key), "a merge lost a TTL")
        }
    }

    private mutating func appendEntry(_ key: StoreKey, _ entry: Entry, hash: UInt64) -> Bool {
        appendBuilding(
            key: key, value: entry.value, expiresAtMilliseconds: entry.expiresAtMilliseconds, hash: hash,
            contentHash: entry.contentHash)
    }

    private mutating func appendToExpiryOrder(key: StoreKey) -> Bool {
        appendToExpiryOrder(keyPosition: entries[key]!.position)
    }

    // MARK: Checking

    /// The addresses of the shard's storage buffers; for tests that check which shards a write copied (a copied
    /// buffer has a new address, a shared one the same).
    var storageIdentity: [UInt] {
        [
            unsafeBitCast(entries, to: UInt.self),
            keys.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) },
            keysWithExpiry.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) },
        ]
    }

    /// Checks that the dictionary, both orders, the digest and the byte count agree, and that every key's hash
    /// `belongs` here; for tests and debug builds.
    func checkInvariants(belongs: (UInt64) -> Bool) {
        precondition(entries.count == keys.count, "a key is in the dictionary but not the key order, or back")
        precondition(unorderedExpiryCount == 0, "a key with a TTL was left out of the TTL order")
        var expiring = 0
        var sum: UInt64 = 0
        var bytes = 0
        for (position, key) in keys.enumerated() {
            guard let entry = entries[key] else { preconditionFailure("the key order holds a deleted key") }
            precondition(belongs(ShardHash.of(key.bytes)), "a key sits in the wrong shard")
            precondition(entry.position == position, "an entry's position does not point back at its key")
            precondition(
                entry.contentHash == KeyValueStore.contentHash(key: key.bytes, value: entry.value[...]),
                "an entry's hash is stale")
            if entry.expiresAtMilliseconds != nil {
                expiring += 1
                precondition(keysWithExpiry[entry.expiryPosition] == key, "a key with a TTL is not in the TTL order")
            } else {
                precondition(entry.expiryPosition == -1, "a key without a TTL claims a place in the TTL order")
            }
            sum &+= Self.entryHash(entry)
            bytes += key.bytes.count + entry.value.count
        }
        precondition(expiring == keysWithExpiry.count, "the TTL order holds keys without a TTL")
        precondition(sum == digestSum, "the shard's incremental digest drifted from the entries")
        precondition(bytes == byteCount, "the shard's byte count drifted from the entries")
    }
}
