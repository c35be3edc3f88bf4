/// One partition of the store: a few hundred to a few thousand keys with their values, TTLs, orders and digest.
///
/// The store is an array of shards (`KeyValueStore`, linear hashing), so that no step touches the whole state:
/// growing the table splits one shard, and a snapshot shares the shards while a write afterwards copies only the
/// shard it touches (each shard's few buffers are copy-on-write on their own).
///
/// Compact storage, with no object or allocation per key (but for a large value):
/// - `arena` holds the records back to back: a 16-byte header (key length with two flag bits, value length,
///   content hash), then for a key with a TTL 12 bytes (expiry time, place in the TTL order), then the key, then
///   the value if it is at most `inlineValueBytesLimit` bytes; a larger value lives in `largeValues`, and the
///   header's value length is then its index there. A hash, set or list lives in `collections` (the header's
///   value field is then its index there with `collectionFlag` set): a string pays nothing for the other kinds.
/// - `order[p]` is the arena offset of the key at position `p` of the key order (RANDOMKEY, KEYS, the snapshot),
///   `fragments[p]` the high 32 bits of its `ShardHash` (the low bits chose the shard).
/// - `table` is an open-addressing (linear probing) table of `position + 1` (0: empty), at most 3/4 full,
///   indexed from the fragment; a deletion shifts the entries after it back, so no tombstones accumulate.
/// - `expiryOrder` lists the key positions of the keys with a TTL, in the order active expiry samples them.
/// Deletion swap-removes from `order` (and `expiryOrder`), as every replica does alike; an overwrite of the same
/// size writes in place, any other rewrites the record at the arena's end. The space left behind is reclaimed
/// by compacting the arena (O(this shard)) once it is more than half garbage.
///
/// The rest of the store uses only the methods below (find, read, write, positions, build, split, absorb).
/// Every method that takes a key takes its `ShardHash` too, computed once by the store.
struct StoreShard: Sendable {
    /// Largest value kept inside the arena; a larger one gets a buffer of its own, so that rewriting, copying or
    /// compacting a shard stays cheap and APPEND to a large value stays in place.
    static let inlineValueBytesLimit = 256
    /// Smallest arena worth compacting: below it the garbage costs less than the copy.
    static let compactionBytesFloor = 4_096

    /// Where a found key is: its position in the key order, valid until the shard next changes.
    typealias Slot = Int

    private static let headerByteCount = 16
    /// The bytes of a record's header, for estimates outside the shard.
    static var recordHeaderBytes: Int { headerByteCount }
    private static let expiryByteCount = 12
    private static let hasExpiryFlag: UInt32 = 1 << 31
    private static let isLargeFlag: UInt32 = 1 << 30
    private static let keyLengthMask: UInt32 = (1 << 30) - 1
    private static let unplacedExpiryPosition = UInt32.max
    /// Marks an out-of-line value field as an index of `collections` rather than of `largeValues`.
    private static let collectionFlag = 1 << 31

    // These change together, only through the methods below; `checkInvariants()` says how they relate.
    private var arena: [UInt8] = []
    private var order: [UInt32] = []
    private var fragments: [UInt32] = []
    private var table: [UInt32] = []
    private var expiryOrder: [UInt32] = []
    private var largeValues: [[UInt8]] = []
    /// Indices of `largeValues` free for reuse.
    private var freeLargeIndices: [UInt32] = []
    /// The values of the keys holding a hash, set or list; an entry is empty once its index is free.
    private var collections: [CollectionValue] = []
    /// Indices of `collections` free for reuse.
    private var freeCollectionIndices: [UInt32] = []
    /// Arena bytes no record uses any more.
    private var garbageByteCount = 0
    /// Wrapping sum of every entry's hash: this shard's part of the digest.
    private(set) var digestSum: UInt64 = 0
    /// Bytes of keys and values, for the snapshot's size estimate.
    private(set) var byteCount = 0
    /// Bytes held outside the arena, as `memoryUsage(at:)` counts them: large values and collections.
    private var heapByteCount = 0
    /// Keys with a TTL not yet placed in the TTL order; nonzero only while a split or a restore builds the shard.
    private(set) var unorderedExpiryCount = 0

    /// An empty shard.
    init() {}

    /// Keys in the shard, expired or not.
    var count: Int { order.count }
    /// Keys in the shard's TTL order.
    var expiringCount: Int { expiryOrder.count }
    /// The sum of `memoryUsage(at:)` over the shard's keys, in O(1): what `maxmemory` weighs.
    var memoryByteCount: Int { arena.count - garbageByteCount + order.count * Self.indexBytesPerKey + heapByteCount }

    // MARK: The record at an arena offset

    /// The fixed part of a record.
    private struct Header {
        var keyCount: Int
        var hasExpiry: Bool
        var isLarge: Bool
        /// The value's length, or for a large value its index in `largeValues`.
        var valueField: Int
        var contentHash: UInt64
        /// Where the key starts, relative to the record.
        var keyOffset: Int { StoreShard.headerByteCount + (hasExpiry ? StoreShard.expiryByteCount : 0) }
        /// Whether the value is a collection, at `collectionIndex` of `collections`.
        var isCollection: Bool { isLarge && valueField & StoreShard.collectionFlag != 0 }
        var collectionIndex: Int { valueField & ~StoreShard.collectionFlag }
    }

    @inline(__always)
    private func header(at offset: Int) -> Header {
        arena.withUnsafeBytes { bytes in
            let first = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
            return Header(
                keyCount: Int(first & Self.keyLengthMask), hasExpiry: first & Self.hasExpiryFlag != 0,
                isLarge: first & Self.isLargeFlag != 0,
                valueField: Int(bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)),
                contentHash: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        }
    }

    private func expiresAt(at offset: Int) -> Int64 {
        arena.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + Self.headerByteCount, as: Int64.self) }
    }

    private func expiryPosition(at offset: Int) -> UInt32 {
        arena.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + Self.headerByteCount + 8, as: UInt32.self) }
    }

    private mutating func setExpiryPosition(_ position: UInt32, at offset: Int) {
        arena.withUnsafeMutableBytes {
            $0.storeBytes(of: position, toByteOffset: offset + Self.headerByteCount + 8, as: UInt32.self)
        }
    }

    private func keyRange(_ header: Header, at offset: Int) -> Range<Int> {
        let start = offset + header.keyOffset
        return start..<(start + header.keyCount)
    }

    /// The value's bytes (viewing the arena or its own buffer).
    private func valueBytes(_ header: Header, at offset: Int) -> ArraySlice<UInt8> {
        if header.isLarge { return largeValues[header.valueField][...] }
        let start = offset + header.keyOffset + header.keyCount
        return arena[start..<(start + header.valueField)]
    }

    private func valueCount(_ header: Header) -> Int {
        guard header.isLarge else { return header.valueField }
        if header.isCollection { return collections[header.collectionIndex].byteCount }
        return largeValues[header.valueField].count
    }

    private func recordByteCount(_ header: Header) -> Int {
        header.keyOffset + header.keyCount + (header.isLarge ? 0 : header.valueField)
    }

    private func entryHash(_ header: Header, at offset: Int) -> UInt64 {
        KeyValueStore.entryHash(
            contentHash: header.contentHash, expiresAtMilliseconds: header.hasExpiry ? expiresAt(at: offset) : nil)
    }

    /// Appends a record and returns its offset; the arena grows by a quarter at a time, so it holds little slack.
    private mutating func appendRecord(
        key: ArraySlice<UInt8>, value: ArraySlice<UInt8>, contentHash: UInt64, expiresAtMilliseconds: Int64?,
        expiryPosition: UInt32, largeIndex: Int?
    ) -> Int {
        let offset = arena.count
        let recordCount =
            Self.headerByteCount + (expiresAtMilliseconds == nil ? 0 : Self.expiryByteCount) + key.count
            + (largeIndex == nil ? value.count : 0)
        if arena.capacity < offset + recordCount {
            arena.reserveCapacity(offset + max(recordCount, offset / 4, 256))
        }
        var first = UInt32(key.count)
        if expiresAtMilliseconds != nil { first |= Self.hasExpiryFlag }
        if largeIndex != nil { first |= Self.isLargeFlag }
        withUnsafeBytes(of: first) { arena.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(largeIndex ?? value.count)) { arena.append(contentsOf: $0) }
        withUnsafeBytes(of: contentHash) { arena.append(contentsOf: $0) }
        if let expiresAtMilliseconds {
            withUnsafeBytes(of: expiresAtMilliseconds) { arena.append(contentsOf: $0) }
            withUnsafeBytes(of: expiryPosition) { arena.append(contentsOf: $0) }
        }
        arena.append(contentsOf: key)
        if largeIndex == nil { arena.append(contentsOf: value) }
        return offset
    }

    /// Stores a large value in a free index of `largeValues`, or a new one.
    private mutating func storeLarge(_ value: [UInt8]) -> Int {
        heapByteCount += value.count + ByteArray.allocationOverheadBytes
        if let index = freeLargeIndices.popLast() {
            largeValues[Int(index)] = value
            return Int(index)
        }
        largeValues.append(value)
        return largeValues.count - 1
    }

    private mutating func freeLarge(_ index: Int) {
        heapByteCount -= largeValues[index].count + ByteArray.allocationOverheadBytes
        largeValues[index] = []
        freeLargeIndices.append(UInt32(index))
    }

    // MARK: The table

    @inline(__always)
    private static func fragment(_ hash: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: hash >> 32) }

    @inline(__always)
    private func keyEquals(at offset: Int, _ wanted: UnsafeRawBufferPointer) -> Bool {
        arena.withUnsafeBytes { bytes in
            let first = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
            let keyCount = Int(first & Self.keyLengthMask)
            let start = offset + Self.headerByteCount + (first & Self.hasExpiryFlag != 0 ? Self.expiryByteCount : 0)
            guard wanted.count == keyCount else { return false }
            var index = 0
            while index + 8 <= keyCount {
                guard
                    wanted.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                        == bytes.loadUnaligned(fromByteOffset: start + index, as: UInt64.self)
                else { return false }
                index += 8
            }
            while index < keyCount {
                guard wanted[index] == bytes[start + index] else { return false }
                index += 1
            }
            return true
        }
    }

    /// The table index that holds `position`.
    private func tableIndex(ofPosition position: Int) -> Int {
        let mask = table.count - 1
        var index = Int(fragments[position]) & mask
        while table[index] != UInt32(position + 1) { index = (index + 1) & mask }
        return index
    }

    /// Puts `position`, just appended to `order` and `fragments`, in the first free table index from its home.
    private mutating func insertInTable(_ position: Int) {
        if order.count * 4 > table.count * 3 {
            growTable()  // which places `position` too
            return
        }
        let mask = table.count - 1
        var index = Int(fragments[position]) & mask
        while table[index] != 0 { index = (index + 1) & mask }
        table[index] = UInt32(position + 1)
    }

    private mutating func growTable() {
        let size = max(16, table.count * 2)
        table = [UInt32](repeating: 0, count: size)
        let mask = size - 1
        for position in 0..<order.count {
            var index = Int(fragments[position]) & mask
            while table[index] != 0 { index = (index + 1) & mask }
            table[index] = UInt32(position + 1)
        }
    }

    /// Empties table index `hole`, shifting back the entries after it that probed past it (no tombstones).
    private mutating func deleteFromTable(at hole: Int) {
        let mask = table.count - 1
        var hole = hole
        var index = (hole + 1) & mask
        while table[index] != 0 {
            let home = Int(fragments[Int(table[index]) - 1]) & mask
            // The entry may move to the hole unless its home lies cyclically in (hole, index].
            let homeIsBetween = hole <= index ? (hole < home && home <= index) : (hole < home || home <= index)
            if !homeIsBetween {
                table[hole] = table[index]
                hole = index
            }
            index = (index + 1) & mask
        }
        table[hole] = 0
    }

    // MARK: Reading

    /// Where `key` is, or nil when it is not in the shard.
    @inline(__always)
    func find(_ key: StoreKey, hash: UInt64) -> Slot? {
        key.bytes.withUnsafeBytes { find($0, hash: hash) }
    }

    /// The slot of the key whose bytes `key` points at, given its `ShardHash`; for a key read in place from a command,
    /// which a `StoreKey` viewing it would retain.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Slot? {
        guard !table.isEmpty else { return nil }
        let fragment = Self.fragment(hash)
        let mask = table.count - 1
        var index = Int(fragment) & mask
        while true {
            let entry = table[index]
            if entry == 0 { return nil }
            let position = Int(entry) - 1
            if fragments[position] == fragment && keyEquals(at: Int(order[position]), key) { return position }
            index = (index + 1) & mask
        }
    }

    /// The value at `slot`, viewing the shard's storage (let it go before writing to the shard, or the write
    /// copies the storage it shares); nil when the key holds a collection.
    @inline(__always)
    func value(at slot: Slot) -> ArraySlice<UInt8>? {
        let offset = Int(order[slot])
        let header = header(at: offset)
        if header.isLarge && header.isCollection { return nil }
        return valueBytes(header, at: offset)
    }
    /// The length of the value at `slot`.
    func valueCount(at slot: Slot) -> Int { valueCount(header(at: Int(order[slot]))) }
    /// The bytes held for the value at `slot`, which may exceed its length; for tests of what an overwrite keeps.
    func valueCapacity(at slot: Slot) -> Int {
        let header = header(at: Int(order[slot]))
        guard header.isLarge else { return header.valueField }
        return header.isCollection ? 0 : largeValues[header.valueField].capacity
    }
    /// The TTL of the key at `slot`.
    func expiry(at slot: Slot) -> Int64? {
        let offset = Int(order[slot])
        return header(at: offset).hasExpiry ? expiresAt(at: offset) : nil
    }

    /// The key at `position` of the key order, viewing the shard's storage.
    func key(atPosition position: Int) -> StoreKey {
        let offset = Int(order[position])
        return StoreKey(viewing: arena[keyRange(header(at: offset), at: offset)])
    }
    /// The TTL of the key at `position` of the key order.
    func expiry(atPosition position: Int) -> Int64? { expiry(at: position) }
    /// The key at `position` of the TTL order, and its TTL.
    func expiringKey(atPosition position: Int) -> (key: StoreKey, expiresAtMilliseconds: Int64) {
        let keyPosition = Int(expiryOrder[position])
        return (key(atPosition: keyPosition), expiresAt(at: Int(order[keyPosition])))
    }

    /// The key at `position` of the key order with its value and TTL, as the snapshot writes them.
    func record(atPosition position: Int) -> (
        key: ArraySlice<UInt8>, value: ArraySlice<UInt8>, expiresAtMilliseconds: Int64?
    ) {
        let offset = Int(order[position])
        let header = header(at: offset)
        return (
            arena[keyRange(header, at: offset)], valueBytes(header, at: offset),
            header.hasExpiry ? expiresAt(at: offset) : nil
        )
    }

    /// The key-order position of the key at `position` of the TTL order.
    func keyPosition(ofExpiryPosition position: Int) -> Int { Int(expiryOrder[position]) }

    // MARK: Writing

    /// Creates or overwrites `key` with `value` and the given TTL (nil: none).
    ///
    /// An overwrite of the same length that keeps the TTL (a plain SET of a same-size value) writes the value
    /// in place: no allocation, no garbage. Inlined into SET, its caller on the hot path.
    @inline(__always)
    mutating func store(
        _ value: ArraySlice<UInt8>, for key: StoreKey, hash: UInt64, expiresAtMilliseconds: Int64?
    ) {
        let contentHash = KeyValueStore.contentHash(key: key.bytes, value: value)
        guard let position = find(key, hash: hash) else {
            insert(
                key: key.bytes, value: value, hash: hash, contentHash: contentHash,
                expiresAtMilliseconds: expiresAtMilliseconds, isPlaced: true)
            return
        }
        rewrite(
            position: position, value: value, contentHash: contentHash, expiresAtMilliseconds: expiresAtMilliseconds)
    }

    /// The TTL-order place of a new key at `position`: the end of the TTL order when it has a TTL and `isPlaced`,
    /// unplaced (counted for `appendToExpiryOrder`) when it has one and is not, none without a TTL.
    @inline(__always)
    private mutating func placeInExpiryOrder(_ position: Int, hasExpiry: Bool, isPlaced: Bool) -> UInt32 {
        guard hasExpiry else { return Self.unplacedExpiryPosition }
        guard isPlaced else {
            unorderedExpiryCount += 1
            return Self.unplacedExpiryPosition
        }
        expiryOrder.append(UInt32(position))
        return UInt32(expiryOrder.count - 1)
    }

    /// Adds a key known to be absent at the end of the key order; with a TTL, at the end of the TTL order too
    /// when `isPlaced`, else left for `appendToExpiryOrder`.
    private mutating func insert(
        key: ArraySlice<UInt8>, value: ArraySlice<UInt8>, hash: UInt64, contentHash: UInt64,
        expiresAtMilliseconds: Int64?, isPlaced: Bool
    ) {
        let position = order.count
        let expiryPosition = placeInExpiryOrder(position, hasExpiry: expiresAtMilliseconds != nil, isPlaced: isPlaced)
        let largeIndex = value.count > Self.inlineValueBytesLimit ? storeLarge(Array(value)) : nil
        let offset = appendRecord(
            key: key, value: value, contentHash: contentHash, expiresAtMilliseconds: expiresAtMilliseconds,
            expiryPosition: expiryPosition, largeIndex: largeIndex)
        order.append(UInt32(offset))
        fragments.append(Self.fragment(hash))
        insertInTable(position)
        digestSum &+= KeyValueStore.entryHash(contentHash: contentHash, expiresAtMilliseconds: expiresAtMilliseconds)
        byteCount += key.count + value.count
    }

    /// Gives the key at `position` a new value and TTL: in place when the value keeps its length and inline home
    /// and the TTL its presence, else as a new record at the arena's end.
    private mutating func rewrite(
        position: Int, value: ArraySlice<UInt8>, contentHash: UInt64, expiresAtMilliseconds: Int64?,
        keepsLargeValue: Bool = false
    ) {
        let offset = Int(order[position])
        var old = header(at: offset)
        digestSum &-= entryHash(old, at: offset)
        byteCount += keepsLargeValue ? 0 : value.count - valueCount(old)
        digestSum &+= KeyValueStore.entryHash(contentHash: contentHash, expiresAtMilliseconds: expiresAtMilliseconds)
        if !old.isLarge && old.valueField == value.count && old.hasExpiry == (expiresAtMilliseconds != nil) {
            let valueStart = offset + old.keyOffset + old.keyCount
            arena.withUnsafeMutableBytes { bytes in
                bytes.storeBytes(of: contentHash, toByteOffset: offset + 8, as: UInt64.self)
                if let expiresAtMilliseconds {
                    bytes.storeBytes(
                        of: expiresAtMilliseconds, toByteOffset: offset + Self.headerByteCount, as: Int64.self)
                }
                value.withUnsafeBytes { source in
                    guard let base = source.baseAddress else { return }
                    (bytes.baseAddress! + valueStart).copyMemory(from: base, byteCount: source.count)
                }
            }
            return
        }
        // The TTL order: keep the key's place, give it one, or take it away.
        var expiryPosition = Self.unplacedExpiryPosition
        if old.hasExpiry {
            expiryPosition = self.expiryPosition(at: offset)
            if expiresAtMilliseconds == nil {
                removeFromExpiryOrder(at: Int(expiryPosition))
                expiryPosition = Self.unplacedExpiryPosition
            }
        } else if expiresAtMilliseconds != nil {
            expiryPosition = UInt32(expiryOrder.count)
            expiryOrder.append(UInt32(position))
        }
        let oldRecordByteCount = recordByteCount(old)
        if old.isCollection && !keepsLargeValue {
            // A string replaces the collection (SET on a hash): the record is then rewritten as a string's.
            freeCollection(old.collectionIndex)
            old.isLarge = false
        }
        var largeIndex: Int?
        if keepsLargeValue {
            largeIndex = old.valueField
        } else if value.count > Self.inlineValueBytesLimit {
            if old.isLarge {
                heapByteCount += value.count - largeValues[old.valueField].count
                Self.overwrite(&largeValues[old.valueField], with: value)
                largeIndex = old.valueField
            } else {
                largeIndex = storeLarge(Array(value))
            }
        } else if old.isLarge {
            freeLarge(old.valueField)
        }
        // The key is copied out first: appending to the arena may move it.
        let key = Array(arena[keyRange(old, at: offset)])
        let newOffset = appendRecord(
            key: key[...], value: value, contentHash: contentHash, expiresAtMilliseconds: expiresAtMilliseconds,
            expiryPosition: expiryPosition, largeIndex: largeIndex)
        order[position] = UInt32(newOffset)
        garbageByteCount += oldRecordByteCount
        compactIfWasteful()
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
        let position = find(key, hash: hash)!
        rewrite(
            position: position, value: value[...],
            contentHash: KeyValueStore.contentHash(key: key.bytes, value: value[...]),
            expiresAtMilliseconds: expiry(at: position))
    }

    /// Appends to the value of an existing `key` and returns the new length.
    ///
    /// A large value grows in its own buffer and the hash continues from the stored FNV state, so repeated APPENDs
    /// stay O(appended bytes); an inline value is rewritten whole, which its size limit bounds.
    mutating func appendValue(_ suffix: [UInt8], for key: StoreKey, hash: UInt64) -> Int {
        let position = find(key, hash: hash)!
        let offset = Int(order[position])
        let old = header(at: offset)
        let contentHash = KeyValueStore.fnv1a(suffix, from: old.contentHash)
        guard old.isLarge else {
            var value = Array(valueBytes(old, at: offset))
            value.append(contentsOf: suffix)
            rewrite(
                position: position, value: value[...], contentHash: contentHash,
                expiresAtMilliseconds: old.hasExpiry ? expiresAt(at: offset) : nil)
            return value.count
        }
        digestSum &-= entryHash(old, at: offset)
        byteCount += suffix.count
        heapByteCount += suffix.count
        largeValues[old.valueField].append(contentsOf: suffix)
        arena.withUnsafeMutableBytes { $0.storeBytes(of: contentHash, toByteOffset: offset + 8, as: UInt64.self) }
        digestSum &+= entryHash(header(at: offset), at: offset)
        return largeValues[old.valueField].count
    }

    /// Sets or clears the TTL of an existing `key`.
    mutating func setExpiry(_ expiresAtMilliseconds: Int64?, for key: StoreKey, hash: UInt64) {
        let position = find(key, hash: hash)!
        let offset = Int(order[position])
        let old = header(at: offset)
        // An inline value is copied out, as the record moves within the arena; a large one or a collection stays
        // where it is.
        let value = old.isLarge ? [][...] : Array(valueBytes(old, at: offset))[...]
        rewrite(
            position: position, value: value, contentHash: old.contentHash,
            expiresAtMilliseconds: expiresAtMilliseconds, keepsLargeValue: old.isLarge)
    }

    /// Deletes `key`; returns whether it was there (expired or not).
    @discardableResult
    mutating func remove(_ key: StoreKey, hash: UInt64) -> Bool {
        guard let position = find(key, hash: hash) else { return false }
        let offset = Int(order[position])
        let old = header(at: offset)
        digestSum &-= entryHash(old, at: offset)
        byteCount -= old.keyCount + valueCount(old)
        if old.hasExpiry { removeFromExpiryOrder(at: Int(expiryPosition(at: offset))) }
        if old.isCollection {
            freeCollection(old.collectionIndex)
        } else if old.isLarge {
            freeLarge(old.valueField)
        }
        deleteFromTable(at: tableIndex(ofPosition: position))
        let lastPosition = order.count - 1
        if position != lastPosition {
            // The last key takes the vacated position: in the table, in the order, and in the TTL order.
            table[tableIndex(ofPosition: lastPosition)] = UInt32(position + 1)
            let movedOffset = Int(order[lastPosition])
            order[position] = UInt32(movedOffset)
            fragments[position] = fragments[lastPosition]
            if header(at: movedOffset).hasExpiry {
                expiryOrder[Int(expiryPosition(at: movedOffset))] = UInt32(position)
            }
        }
        order.removeLast()
        fragments.removeLast()
        garbageByteCount += recordByteCount(old)
        compactIfWasteful()
        return true
    }

    /// Swap-removes position `position` of `expiryOrder`, fixing the moved key's record.
    private mutating func removeFromExpiryOrder(at position: Int) {
        let lastPosition = expiryOrder.count - 1
        if position != lastPosition {
            let moved = expiryOrder[lastPosition]
            expiryOrder[position] = moved
            setExpiryPosition(UInt32(position), at: Int(order[Int(moved)]))
        }
        expiryOrder.removeLast()
    }

    /// Copies the live records into a fresh arena once more than half of it is garbage. O(this shard).
    private mutating func compactIfWasteful() {
        guard arena.count >= Self.compactionBytesFloor, garbageByteCount * 2 > arena.count else { return }
        var compacted: [UInt8] = []
        compacted.reserveCapacity(arena.count - garbageByteCount)
        for position in order.indices {
            let offset = Int(order[position])
            order[position] = UInt32(compacted.count)
            compacted.append(contentsOf: arena[offset..<(offset + recordByteCount(header(at: offset)))])
        }
        arena = compacted
        garbageByteCount = 0
    }

    // MARK: Collections (hashes, sets, lists)

    /// The kind of value at `slot`.
    func kind(at slot: Slot) -> ValueKind {
        let header = header(at: Int(order[slot]))
        return header.isCollection ? collections[header.collectionIndex].kind : .string
    }

    /// The collection at `slot`, which must hold one; it shares the shard's storage until either is written.
    /// About what each key costs in the indexes beside its record: its place in `order`, its table slot at the load the
    /// table keeps, and its fragment byte.
    static let indexBytesPerKey = 16

    /// About the bytes `slot`'s key and value take: the record in the arena, a large value's own buffer or a
    /// collection's contents, and the key's index entries. O(1), for MEMORY USAGE.
    func memoryUsage(at slot: Slot) -> Int {
        let header = header(at: Int(order[slot]))
        var bytes = recordByteCount(header) + Self.indexBytesPerKey
        if header.isCollection {
            bytes += collections[header.collectionIndex].memoryUsage
        } else if header.isLarge {
            bytes += largeValues[header.valueField].count + ByteArray.allocationOverheadBytes
        }
        return bytes
    }

    func collection(at slot: Slot) -> CollectionValue {
        let header = header(at: Int(order[slot]))
        precondition(header.isCollection, "a string read as a collection")
        return collections[header.collectionIndex]
    }

    /// Adds `key`, which must be absent, holding `collection` (not empty) and no TTL.
    mutating func insert(_ collection: CollectionValue, for key: StoreKey, hash: UInt64) {
        insertCollection(
            collection, key: key.bytes, hash: hash,
            contentHash: KeyValueStore.contentHash(key: key.bytes, collection: collection), expiresAtMilliseconds: nil,
            isPlaced: true)
    }

    /// Changes the collection at `slot` in place through `body`, then its hash and the totals; returns `body`'s
    /// result and whether the collection is left empty, which the caller must then delete (the store keeps none).
    /// In place: a change copies nothing unless a snapshot shares the collection.
    mutating func updateCollection<Result>(
        at slot: Slot, _ body: (inout CollectionValue) -> Result
    ) -> (Result, isEmpty: Bool) {
        let offset = Int(order[slot])
        let old = header(at: offset)
        precondition(old.isCollection, "a string updated as a collection")
        digestSum &-= entryHash(old, at: offset)
        // Everything is read through the one inout access: each other read of the element copies the whole
        // collection (a shard and a list: every buffer retained and released). The key's slice is a temporary of
        // the call, gone before the arena is written.
        let (result, contentHash, isEmpty) = Self.change(
            &collections[old.collectionIndex], key: arena[keyRange(old, at: offset)], byteCount: &byteCount,
            heapByteCount: &heapByteCount, body)
        arena.withUnsafeMutableBytes { $0.storeBytes(of: contentHash, toByteOffset: offset + 8, as: UInt64.self) }
        digestSum &+= entryHash(header(at: offset), at: offset)
        return (result, isEmpty)
    }

    /// Runs `body` on `collection`, moving `byteCount` and `heapByteCount` by what it changed; returns `body`'s
    /// result, the collection's new content hash under `key` and whether it is left empty.
    @inline(__always)
    private static func change<Result>(
        _ collection: inout CollectionValue, key: ArraySlice<UInt8>, byteCount: inout Int, heapByteCount: inout Int,
        _ body: (inout CollectionValue) -> Result
    ) -> (Result, contentHash: UInt64, isEmpty: Bool) {
        byteCount -= collection.byteCount
        heapByteCount -= collection.memoryUsage
        let result = body(&collection)
        byteCount += collection.byteCount
        heapByteCount += collection.memoryUsage
        return (result, KeyValueStore.contentHash(key: key, collection: collection), collection.count == 0)
    }

    private mutating func insertCollection(
        _ collection: CollectionValue, key: ArraySlice<UInt8>, hash: UInt64, contentHash: UInt64,
        expiresAtMilliseconds: Int64?, isPlaced: Bool
    ) {
        let position = order.count
        let expiryPosition = placeInExpiryOrder(position, hasExpiry: expiresAtMilliseconds != nil, isPlaced: isPlaced)
        let index: Int
        heapByteCount += collection.memoryUsage
        if let free = freeCollectionIndices.popLast() {
            index = Int(free)
            collections[index] = collection
        } else {
            index = collections.count
            collections.append(collection)
        }
        let offset = appendRecord(
            key: key, value: [], contentHash: contentHash, expiresAtMilliseconds: expiresAtMilliseconds,
            expiryPosition: expiryPosition, largeIndex: index | Self.collectionFlag)
        order.append(UInt32(offset))
        fragments.append(Self.fragment(hash))
        insertInTable(position)
        digestSum &+= KeyValueStore.entryHash(contentHash: contentHash, expiresAtMilliseconds: expiresAtMilliseconds)
        byteCount += key.count + collection.byteCount
    }

    private mutating func freeCollection(_ index: Int) {
        heapByteCount -= collections[index].memoryUsage
        collections[index] = CollectionValue(kind: .hash)
        freeCollectionIndices.append(UInt32(index))
    }

    // MARK: Building (restore, split, absorb)

    /// Adds `key`, which must be new, at the end of the key order; a TTL leaves it out of the TTL order until
    /// `appendToExpiryOrder` places it. Returns false (changing nothing) when the key is already here.
    mutating func appendBuilding(
        key: ArraySlice<UInt8>, value: ArraySlice<UInt8>, expiresAtMilliseconds: Int64?, hash: UInt64,
        contentHash: UInt64? = nil
    ) -> Bool {
        guard find(StoreKey(viewing: key), hash: hash) == nil else { return false }
        insert(
            key: key, value: value, hash: hash,
            contentHash: contentHash ?? KeyValueStore.contentHash(key: key, value: value),
            expiresAtMilliseconds: expiresAtMilliseconds, isPlaced: false)
        return true
    }

    /// Adds `key`, which must be new, holding `collection`, as `appendBuilding(key:value:...)` adds a string.
    mutating func appendBuilding(
        key: ArraySlice<UInt8>, collection: CollectionValue, expiresAtMilliseconds: Int64?, hash: UInt64
    ) -> Bool {
        guard find(StoreKey(viewing: key), hash: hash) == nil else { return false }
        insertCollection(
            collection, key: key, hash: hash, contentHash: KeyValueStore.contentHash(key: key, collection: collection),
            expiresAtMilliseconds: expiresAtMilliseconds, isPlaced: false)
        return true
    }

    /// Places the key at key-order `position` next in the TTL order; false when it has no TTL or is placed already.
    mutating func appendToExpiryOrder(keyPosition position: Int) -> Bool {
        let offset = Int(order[position])
        guard header(at: offset).hasExpiry, expiryPosition(at: offset) == Self.unplacedExpiryPosition else {
            return false
        }
        setExpiryPosition(UInt32(expiryOrder.count), at: offset)
        expiryOrder.append(UInt32(position))
        unorderedExpiryCount -= 1
        return true
    }

    /// Moves the keys for which `isMoved(hash)` holds into `other`, which must be empty (a linear-hashing split).
    ///
    /// Both shards keep the relative orders the keys had here, so every replica splits the same way. O(this shard).
    mutating func split(into other: inout StoreShard, isMoved: (UInt64) -> Bool) {
        precondition(other.count == 0, "a split fills an empty shard")
        var kept = StoreShard()
        // Each side is sized once for what it receives, rather than grown as it fills.
        let hashes = (0..<count).map { ShardHash.of(key(atPosition: $0).bytes) }
        var movedCount = 0, movedBytes = 0, recordBytes = 0
        for position in 0..<count {
            let bytes = recordByteCount(header(at: Int(order[position])))
            recordBytes += bytes
            if isMoved(hashes[position]) {
                movedCount += 1
                movedBytes += bytes
            }
        }
        kept.reserve(keys: count - movedCount, arenaBytes: recordBytes - movedBytes)
        other.reserve(keys: movedCount, arenaBytes: movedBytes)
        // Indexed by position here, so the TTL order can be carried over whatever order the keys were copied in.
        var newPositions = [Int](repeating: 0, count: count)
        for position in 0..<count {
            let hash = hashes[position]
            if isMoved(hash) {
                newPositions[position] = other.count
                other.appendCopy(of: position, from: self, hash: hash)
            } else {
                newPositions[position] = kept.count
                kept.appendCopy(of: position, from: self, hash: hash)
            }
        }
        for keyPosition in expiryOrder {
            let moved = isMoved(hashes[Int(keyPosition)])
            let placed =
                moved
                ? other.appendToExpiryOrder(keyPosition: newPositions[Int(keyPosition)])
                : kept.appendToExpiryOrder(keyPosition: newPositions[Int(keyPosition)])
            precondition(placed, "a split lost a TTL")
        }
        self = kept
    }

    /// Sizes an empty shard's arena, orders and table for `keys` keys whose records take `arenaBytes`.
    private mutating func reserve(keys: Int, arenaBytes: Int) {
        precondition(order.isEmpty, "only an empty shard is sized")
        guard keys > 0 else { return }
        arena.reserveCapacity(arenaBytes)
        order.reserveCapacity(keys)
        fragments.reserveCapacity(keys)
        var tableSize = 16
        while keys * 4 > tableSize * 3 { tableSize *= 2 }
        table = [UInt32](repeating: 0, count: tableSize)
    }

    /// Appends every key of `other` after this shard's keys, and its TTL order after this one's (a linear-hashing
    /// merge, the reverse of `split`). O(other).
    mutating func absorb(_ other: StoreShard) {
        let base = count
        for position in 0..<other.count {
            appendCopy(of: position, from: other, hash: ShardHash.of(other.key(atPosition: position).bytes))
        }
        for keyPosition in other.expiryOrder {
            precondition(appendToExpiryOrder(keyPosition: base + Int(keyPosition)), "a merge lost a TTL")
        }
    }

    private mutating func appendCopy(of position: Int, from source: StoreShard, hash: UInt64) {
        let offset = Int(source.order[position])
        let header = source.header(at: offset)
        if header.isCollection {
            insertCollection(
                source.collections[header.collectionIndex], key: source.key(atPosition: position).bytes, hash: hash,
                contentHash: header.contentHash, expiresAtMilliseconds: source.expiry(at: position), isPlaced: false)
            return
        }
        let record = source.record(atPosition: position)
        insert(
            key: record.key, value: record.value, hash: hash, contentHash: header.contentHash,
            expiresAtMilliseconds: record.expiresAtMilliseconds, isPlaced: false)
    }

    // MARK: Checking

    /// The addresses of the shard's storage buffers; for tests that check which shards a write copied (a copied
    /// buffer has a new address, a shared one the same).
    var storageIdentity: [UInt] {
        func address<Element>(_ array: [Element]) -> UInt {
            array.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        }
        return [address(arena), address(order), address(fragments), address(table), address(expiryOrder)]
    }

    /// Checks that the arena, the table, both orders, the digest and the byte count agree, and that every key's
    /// hash `belongs` here; for tests and debug builds.
    func checkInvariants(belongs: (UInt64) -> Bool) {
        precondition(order.count == fragments.count, "the key order and its fragments differ in length")
        precondition(unorderedExpiryCount == 0, "a key with a TTL was left out of the TTL order")
        precondition(table.isEmpty || order.count * 4 <= table.count * 3, "the table is fuller than its bound")
        var expiring = 0, bytes = 0, recordBytes = 0
        var sum: UInt64 = 0
        for position in 0..<order.count {
            let offset = Int(order[position])
            let header = header(at: offset)
            let key = key(atPosition: position)
            let hash = ShardHash.of(key.bytes)
            precondition(belongs(hash), "a key sits in the wrong shard")
            precondition(fragments[position] == Self.fragment(hash), "a fragment is stale")
            precondition(find(key, hash: hash) == position, "the table does not find a key at its position")
            if header.isCollection {
                let collection = collections[header.collectionIndex]
                collection.checkInvariants()
                precondition(collection.count > 0, "an empty collection was kept")
                precondition(
                    header.contentHash == KeyValueStore.contentHash(key: key.bytes, collection: collection),
                    "a collection's hash is stale")
                bytes += key.bytes.count + collection.byteCount
            } else {
                let value = valueBytes(header, at: offset)
                precondition(
                    header.isLarge == (value.count > Self.inlineValueBytesLimit), "a value is in the wrong home")
                precondition(
                    header.contentHash == KeyValueStore.contentHash(key: key.bytes, value: value),
                    "an entry's hash is stale")
                bytes += key.bytes.count + value.count
            }
            if header.hasExpiry {
                expiring += 1
                precondition(
                    expiryOrder[Int(expiryPosition(at: offset))] == UInt32(position),
                    "a key with a TTL is not in the TTL order")
            }
            sum &+= entryHash(header, at: offset)
            recordBytes += recordByteCount(header)
        }
        precondition(table.filter { $0 != 0 }.count == order.count, "the table holds a key twice or a stale one")
        precondition(expiring == expiryOrder.count, "the TTL order holds keys without a TTL")
        precondition(sum == digestSum, "the shard's incremental digest drifted from the entries")
        precondition(bytes == byteCount, "the shard's byte count drifted from the entries")
        let memory = (0..<order.count).reduce(0) { $0 + memoryUsage(at: $1) }
        precondition(memory == memoryByteCount, "the shard's memory count drifted from the entries")
        precondition(recordBytes + garbageByteCount == arena.count, "the arena's garbage count drifted")
    }
}
