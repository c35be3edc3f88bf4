/// The value of a key that holds a hash, a set, a list or a sorted set, kept out of the shard's arena (`StoreShard`).
///
/// A hash, set or sorted set is a `MemberTable`: shards of an ordered map (field to value; member to an empty value;
/// member to its score's 8 bytes, with a `ScoreOrder` beside it, `CollectionValue+SortedSet.swift`), compact, with no
/// allocation per member but for values over the inline limit, lookups by `ShardHash`, and positions that are the same
/// on every replica, which HRANDFIELD, SPOP and SRANDMEMBER index with recorded randomness. A list is a `ListValue`.
/// Each keeps an incremental digest and byte count, so the store's digest and size stay O(1) per change.
///
/// Each is copy-on-write in parts: the first write to one after a snapshot copies the shard or chunk it touches and
/// a list of references (`MemberTable`, `ListValue`, `ScoreOrder`), never every member. The store never leaves one
/// empty: the command that takes the last member deletes the key, as Redis does.
struct CollectionValue: Sendable {
    /// Hash, set, list or sorted set (never string).
    var kind: ValueKind
    /// The fields or members of a hash, set or sorted set.
    var members = MemberTable()
    /// The elements of a list.
    var elements = ListValue()
    /// A sorted set's members by score; it only ever changes with `members`, through `CollectionValue+SortedSet`.
    var order = ScoreOrder()

    /// An empty collection of `kind`.
    init(kind: ValueKind) {
        precondition(kind != .string, "a string is not a collection")
        self.kind = kind
    }

    /// Fields, members or elements.
    var count: Int { kind == .list ? elements.count : members.count }
    /// Bytes of fields and values, members or elements, for the snapshot's size estimate.
    var byteCount: Int { kind == .list ? elements.byteCount : members.byteCount }
    /// About the bytes the contents take: their own, a record header and index entries per member (and in a sorted
    /// set a score order entry holding the member's bytes again), or a ring slot and an array of its own per list
    /// element. O(1), for MEMORY USAGE. Inlined: called, it copied the whole value to read a few counters, twice per
    /// collection write.
    @inline(__always)
    var memoryUsage: Int {
        switch kind {
        case .list: return byteCount + count * (MemoryLayout<[UInt8]>.size + ByteArray.allocationOverheadBytes)
        case .sortedSet:
            return byteCount + order.memberByteCount
                + count * (StoreShard.recordHeaderBytes + StoreShard.indexBytesPerKey + ScoreOrder.bytesPerMember)
        default: return byteCount + count * (StoreShard.recordHeaderBytes + StoreShard.indexBytesPerKey)
        }
    }

    /// The contents' hash: order-independent for a hash, set or sorted set, order-dependent for a list.
    var digest: UInt64 { kind == .list ? elements.digest : members.digestSum }

    /// Checks the members' or elements' own invariants; for tests and debug builds.
    func checkInvariants() {
        switch kind {
        case .list:
            precondition(members.count == 0, "a list holds members")
            elements.checkInvariants()
        default:
            precondition(elements.count == 0, "a hash or set holds list elements")
            members.checkInvariants()
            if kind == .sortedSet {
                checkSortedSetInvariants()
            } else {
                precondition(order.count == 0, "a hash or set holds a score order")
            }
        }
    }
}
