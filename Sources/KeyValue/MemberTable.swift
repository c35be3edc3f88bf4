/// The fields of a hash or the members of a set or sorted set, with their values (a sorted set's: the score's 8 bytes),
/// partitioned into `StoreShard`s by linear hashing on the members' `ShardHash`, as the store partitions its keys.
///
/// So no step costs time in proportion to the collection: growing it splits one shard of about `shardLoadBound`
/// members, and the first write after a snapshot copies the shard it touches and a page of shard references
/// (`ShardTable`), not every member.
///
/// The number of shards is a function of the count alone, `ceil(count / shardLoadBound)` (at least one): a member
/// added past the bound splits the shard at the split pointer, one removed below the bound of one shard fewer merges
/// the last shard back. So a table built by adding its members in position order, as a restore builds it, has the
/// same shards with the same members in the same order as the one it was read from, whatever that one's history.
///
/// Positions: the members in shard order, each shard in its own order (insertion, with swap-remove on deletion), the
/// same on every replica; HRANDFIELD, SPOP and SRANDMEMBER index them with recorded randomness, and `shardCounts`
/// finds a position's shard in O(log shards).
struct MemberTable: Sendable {
    /// Members per shard above which a table splits a shard: what one write after a snapshot copies, and one split or
    /// merge moves. A table of at most this many members is one shard, which HSCAN, SSCAN and ZSCAN return whole, as
    /// Redis returns a small (listpack-encoded) collection.
    static let shardLoadBound = 128

    // These change together, only through the methods below; `checkInvariants()` says how they relate.
    /// Shard 0, inline: most collections are small, and a table of one shard then allocates nothing else.
    private var firstShard = StoreShard()
    /// Shards 1 and on.
    private var otherShards = ShardTable()
    /// The members of each shard, summed by prefix; empty while the table is one shard.
    private var shardCounts = PrefixSums()
    /// Doublings completed: shards below `2^level` were split in this round once below the pointer.
    private var level = 0
    /// The next shard to split, below `2^level`.
    private var splitPointer = 0
    /// Fields or members.
    private(set) var count = 0
    /// Bytes of fields and values.
    private(set) var byteCount = 0
    /// Wrapping sum of every member's hash: the collection's digest, order-independent.
    private(set) var digestSum: UInt64 = 0

    /// A field (or member) and its value, viewing the table's storage.
    typealias Member = (field: ArraySlice<UInt8>, value: ArraySlice<UInt8>)

    /// An empty table.
    init() {}

    /// Shards in the table.
    var shardCount: Int { 1 + otherShards.count }

    /// Shard `index`.
    private subscript(shard index: Int) -> StoreShard {
        _read {
            if index == 0 {
                yield firstShard
            } else {
                yield otherShards[index - 1]
            }
        }
        _modify {
            if index == 0 {
                yield &firstShard
            } else {
                yield &otherShards[index - 1]
            }
        }
    }

    @inline(__always)
    private func shardIndex(hash: UInt64) -> Int {
        KeyValueStore.shardIndex(hash: hash, level: level, splitPointer: splitPointer)
    }

    /// `body`'s result on shard `index`, read in place: a copy of the shard (`self[shard:]`) would retain each of its
    /// arrays, on every lookup.
    private func withShard<Result>(_ index: Int, _ body: (borrowing StoreShard) -> Result) -> Result {
        index == 0 ? body(firstShard) : otherShards.withShard(index - 1, body)
    }

    /// The value of `field` (or whether `field` is a member: an empty value), nil when absent.
    func value(ofMember field: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        let hash = ShardHash.of(field)
        return withShard(shardIndex(hash: hash)) { shard in
            shard.find(StoreKey(viewing: field), hash: hash).flatMap { shard.value(at: $0) }
        }
    }

    /// Whether `member` is present.
    func contains(member: ArraySlice<UInt8>) -> Bool {
        let hash = ShardHash.of(member)
        return withShard(shardIndex(hash: hash)) { $0.find(StoreKey(viewing: member), hash: hash) != nil }
    }

    /// Sets `field` to `value`; returns whether the field is new.
    @discardableResult
    mutating func storeMember(_ field: ArraySlice<UInt8>, value: ArraySlice<UInt8> = []) -> Bool {
        let hash = ShardHash.of(field)
        let index = shardIndex(hash: hash)
        let oldCount = count
        update(index) { $0.store(value, for: StoreKey(viewing: field), hash: hash, expiresAtMilliseconds: nil) }
        guard count > oldCount else { return false }
        if count > shardCount * Self.shardLoadBound { split() }
        return true
    }

    /// Removes `field`; returns whether it was there.
    @discardableResult
    mutating func removeMember(_ field: ArraySlice<UInt8>) -> Bool {
        let hash = ShardHash.of(field)
        let removed = update(shardIndex(hash: hash)) { $0.remove(StoreKey(viewing: field), hash: hash) }
        if removed && shardCount > 1 && count <= (shardCount - 1) * Self.shardLoadBound { merge() }
        return removed
    }

    /// The field (or member) and value at `position`. O(log shards).
    func member(atPosition position: Int) -> Member {
        precondition(position >= 0 && position < count, "member \(position) of \(count)")
        let (index, offset) = shardCount == 1 ? (0, position) : shardCounts.locate(position)
        return withShard(index) { shard in
            let record = shard.record(atPosition: offset)
            return (record.key, record.value)
        }
    }

    /// The members whose hash is in the class of `cursor`'s low bits, and the class's resolution in bits
    /// (`ScanCursor`): the members of the shard that class's hashes live in.
    func members(inClassOf cursor: UInt64) -> (members: [Member], bits: Int) {
        let shard = self[shard: shardIndex(hash: cursor)]
        let members = (0..<shard.count).map { position in
            let record = shard.record(atPosition: position)
            return (record.key, record.value)
        }
        return (members, KeyValueStore.classBits(of: cursor, level: level, splitPointer: splitPointer))
    }

    /// Runs `body` on shard `index` in place and moves the totals by what it changed.
    @inline(__always)
    private mutating func update<Result>(_ index: Int, _ body: (inout StoreShard) -> Result) -> Result {
        let (result, added, bytes, digest) = Self.change(&self[shard: index], body)
        if added != 0 {
            count += added
            if shardCount > 1 { shardCounts.add(added, at: index) }
        }
        byteCount += bytes
        digestSum = digestSum &+ digest
        return result
    }

    /// Runs `body` on `shard` and returns its result and what it changed: members, bytes and (wrapping) digest.
    @inline(__always)
    private static func change<Result>(
        _ shard: inout StoreShard, _ body: (inout StoreShard) -> Result
    ) -> (Result, members: Int, bytes: Int, digest: UInt64) {
        let oldCount = shard.count, oldBytes = shard.byteCount, oldDigest = shard.digestSum
        let result = body(&shard)
        return (result, shard.count - oldCount, shard.byteCount - oldBytes, shard.digestSum &- oldDigest)
    }

    /// Splits the shard at the split pointer into itself and a new last shard. O(one shard).
    private mutating func split() {
        let (source, bit) = KeyValueStore.advanceSplitPointer(level: &level, splitPointer: &splitPointer)
        var added = StoreShard()
        self[shard: source].split(into: &added) { $0 & bit != 0 }
        if shardCount == 1 { shardCounts.append(count) }
        otherShards.append(added)
        shardCounts.add(-added.count, at: source)
        shardCounts.append(added.count)
    }

    /// Merges the last shard back into the one it split from. O(one shard).
    private mutating func merge() {
        let target = KeyValueStore.retreatSplitPointer(level: &level, splitPointer: &splitPointer)
        let last = otherShards.removeLast()
        self[shard: target].absorb(last)
        if shardCount == 1 {
            shardCounts = PrefixSums()
        } else {
            shardCounts.removeLast()
            shardCounts.add(last.count, at: target)
        }
    }

    /// The shards whose storage this table shares with `other`'s shard of the same index; for tests of what a write
    /// after a copy copies.
    func shardsShared(with other: MemberTable) -> Int {
        (0..<Swift.min(shardCount, other.shardCount)).filter {
            self[shard: $0].storageIdentity == other[shard: $0].storageIdentity
        }.count
    }

    /// Checks the shards, their counts, the totals and the layout; for tests and debug builds.
    func checkInvariants() {
        precondition(splitPointer < 1 << level, "the split pointer passed the end of the round")
        precondition(shardCount == (1 << level) + splitPointer, "the shard count does not match level and pointer")
        precondition(shardCount > 1 || shardCounts.isEmpty, "a table of one shard keeps prefix counts")
        precondition(
            shardCount == Swift.max(1, (count + Self.shardLoadBound - 1) / Self.shardLoadBound),
            "the shard count is not the one its member count calls for")
        var members = 0, bytes = 0
        var sum: UInt64 = 0
        for index in 0..<shardCount {
            let shard = self[shard: index]
            precondition(shard.expiringCount == 0, "a member has a TTL")
            shard.checkInvariants { shardIndex(hash: $0) == index }
            precondition(shardCount == 1 || shardCounts.sum(upTo: index) == members, "a shard's prefix count drifted")
            members += shard.count
            bytes += shard.byteCount
            sum &+= shard.digestSum
        }
        precondition(members == count, "the member count drifted from the shards")
        precondition(bytes == byteCount, "the byte count drifted from the shards")
        precondition(sum == digestSum, "the digest drifted from the shards")
    }
}

extension MemberTable: Sequence {
    /// The members in position order, each with its value, viewing the table's storage.
    struct Iterator: IteratorProtocol {
        fileprivate let table: MemberTable
        fileprivate var index = 0
        /// Shard `index`, taken once for its members: a copy per member would retain and release its every buffer.
        fileprivate var shard: StoreShard
        fileprivate var position = 0

        mutating func next() -> Member? {
            while position == shard.count {
                index += 1
                guard index < table.shardCount else { return nil }
                shard = table[shard: index]
                position = 0
            }
            let record = shard.record(atPosition: position)
            position += 1
            return (record.key, record.value)
        }
    }

    func makeIterator() -> Iterator { Iterator(table: self, shard: firstShard) }
    var underestimatedCount: Int { count }
}

/// Counts with prefix sums in O(log count) per change or query (a Fenwick tree), for a position's shard.
struct PrefixSums: Sendable {
    /// Node `i` (from 1, stored at `i - 1`) holds the sum of the counts `i - lowbit(i) ..< i`.
    private var tree: [Int] = []

    /// No counts.
    init() {}

    var isEmpty: Bool { tree.isEmpty }

    /// Adds a count at the end.
    mutating func append(_ value: Int) {
        let node = tree.count + 1
        var sum = value
        var child = node - 1
        while child > node - (node & -node) {
            sum += tree[child - 1]
            child -= child & -child
        }
        tree.append(sum)
    }

    /// Drops the last count.
    mutating func removeLast() { tree.removeLast() }

    /// Adds `delta` to count `index`.
    mutating func add(_ delta: Int, at index: Int) {
        var node = index + 1
        while node <= tree.count {
            tree[node - 1] += delta
            node += node & -node
        }
    }

    /// The sum of the counts before `index`.
    func sum(upTo index: Int) -> Int {
        var node = index, sum = 0
        while node > 0 {
            sum += tree[node - 1]
            node -= node & -node
        }
        return sum
    }

    /// The index whose counts' range holds `position` (below the total), and `position`'s offset in it.
    func locate(_ position: Int) -> (index: Int, offset: Int) {
        var node = 0, remaining = position
        var step = tree.count == 0 ? 0 : 1 << (Int.bitWidth - 1 - tree.count.leadingZeroBitCount)
        while step > 0 {
            if node + step <= tree.count && tree[node + step - 1] <= remaining {
                node += step
                remaining -= tree[node - 1]
            }
            step >>= 1
        }
        return (node, remaining)
    }
}
