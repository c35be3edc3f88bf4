/// The value of a key that holds a hash, a set, a list or a sorted set, kept out of the shard's arena (`StoreShard`).
///
/// A hash, set or sorted set is a `StoreShard` of its own used as an ordered map (field to value; member to an empty
/// value; member to its score's 8 bytes, with a `ScoreOrder` beside it, `CollectionValue+SortedSet.swift`):
/// compact, no allocation per member but for values over the inline limit, lookups by `ShardHash`, and an order
/// (insertion, with swap-remove on deletion) that is the same on every replica, which HRANDFIELD, SPOP and
/// SRANDMEMBER index with recorded randomness. A list is a `ListValue`. Either keeps an incremental digest and byte
/// count, so the store's digest and size stay O(1) per change.
///
/// A list is copy-on-write by chunks (`ListValue`): the first write to one after a snapshot copies the chunk it
/// touches and the chunks' references. A hash, set or sorted set is copy-on-write as a whole: the first write to one
/// after a snapshot copies it, O(its size). The store never leaves one empty: the command that takes the last member
/// deletes the key, as Redis does.
struct CollectionValue: Sendable {
    /// Hash, set, list or sorted set (never string).
    var kind: ValueKind
    /// The fields or members of a hash, set or sorted set.
    var members = StoreShard()
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
    /// About the bytes the contents take: their own, a record header and index entries per member (and a score order
    /// entry in a sorted set), or a ring slot and an array of its own per list element. O(1), for MEMORY USAGE.
    var memoryUsage: Int {
        switch kind {
        case .list: return byteCount + count * (MemoryLayout<[UInt8]>.size + ByteArray.allocationOverheadBytes)
        case .sortedSet:
            return byteCount + count * (StoreShard.recordHeaderBytes + StoreShard.indexBytesPerKey + ScoreOrder.bytesPerMember)
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
            precondition(members.expiringCount == 0, "a member has a TTL")
            members.checkInvariants { _ in true }
            if kind == .sortedSet {
                checkSortedSetInvariants()
            } else {
                precondition(order.count == 0, "a hash or set holds a score order")
            }
        }
    }
}

extension StoreShard {
    /// The value of `field` (or whether `field` is a member: an empty value), nil when absent.
    func value(ofMember field: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        find(StoreKey(viewing: field), hash: ShardHash.of(field)).flatMap { value(at: $0) }
    }

    /// Whether `member` is present.
    func contains(member: ArraySlice<UInt8>) -> Bool {
        find(StoreKey(viewing: member), hash: ShardHash.of(member)) != nil
    }

    /// Sets `field` to `value`; returns whether the field is new.
    @discardableResult
    mutating func storeMember(_ field: ArraySlice<UInt8>, value: ArraySlice<UInt8> = []) -> Bool {
        let before = count
        store(value, for: StoreKey(viewing: field), hash: ShardHash.of(field), expiresAtMilliseconds: nil)
        return count > before
    }

    /// Removes `field`; returns whether it was there.
    @discardableResult
    mutating func removeMember(_ field: ArraySlice<UInt8>) -> Bool {
        remove(StoreKey(viewing: field), hash: ShardHash.of(field))
    }

    /// The field (or member) and value at `position` of the order.
    func member(atPosition position: Int) -> (field: ArraySlice<UInt8>, value: ArraySlice<UInt8>) {
        let record = record(atPosition: position)
        return (record.key, record.value)
    }
}
