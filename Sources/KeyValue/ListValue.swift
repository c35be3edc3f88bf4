/// A list's elements: a ring buffer of byte arrays, with a digest that depends on their order.
///
/// The digest is `Σ h(e_i)·B^i` (mod 2^64) over the positions `i` from the head, with `h` a mixed FNV-1a of the
/// element and `B` odd, hence invertible mod 2^64: a push or pop at either end updates it in O(1), replacing one
/// element in O(log n), and two lists with the same elements in another order differ. Operations that shift the
/// middle (LINSERT, LREM) rebuild the list, O(its length), as they cost in Redis.
struct ListValue: Sendable {
    /// The ring: a power-of-two number of slots (or none), `count` of them used from `head` on.
    private var storage: [[UInt8]] = []
    private var head = 0
    /// Elements in the list.
    private(set) var count = 0
    /// Bytes of the elements.
    private(set) var byteCount = 0
    /// `Σ h(e_i)·B^i`, see above.
    private(set) var digest: UInt64 = 0
    /// `B^count`, the weight the next element pushed at the back gets.
    private var topPower: UInt64 = 1

    /// Fewest slots the ring keeps once it has any.
    private static let slotsFloor = 8
    private static let base: UInt64 = 0x9E37_79B9_7F4A_7C15
    /// `base`'s inverse mod 2^64, by Newton's iteration (each step doubles the correct low bits).
    private static let inverseBase: UInt64 = {
        var inverse = base
        for _ in 0..<6 { inverse = inverse &* (2 &- base &* inverse) }
        return inverse
    }()

    /// An empty list.
    init() {}

    /// A list of `elements`, in order.
    init<Elements: Sequence<[UInt8]>>(_ elements: Elements) {
        for element in elements { pushBack(element) }
    }

    /// The element at `position` from the head.
    subscript(position: Int) -> [UInt8] {
        precondition(position >= 0 && position < count, "list position \(position) of \(count)")
        return storage[(head + position) & (storage.count - 1)]
    }

    /// The elements at `positions`, in order.
    func elements(_ positions: Range<Int>) -> [[UInt8]] {
        positions.map { self[$0] }
    }

    mutating func pushFront(_ element: [UInt8]) {
        growIfFull()
        head = (head - 1) & (storage.count - 1)
        storage[head] = element
        count += 1
        byteCount += element.count
        digest = Self.hash(element) &+ Self.base &* digest
        topPower = topPower &* Self.base
    }

    mutating func pushBack(_ element: [UInt8]) {
        growIfFull()
        storage[(head + count) & (storage.count - 1)] = element
        count += 1
        byteCount += element.count
        digest = digest &+ Self.hash(element) &* topPower
        topPower = topPower &* Self.base
    }

    mutating func popFront() -> [UInt8] {
        precondition(count > 0, "pop from an empty list")
        let element = storage[head]
        storage[head] = []
        head = (head + 1) & (storage.count - 1)
        count -= 1
        byteCount -= element.count
        digest = (digest &- Self.hash(element)) &* Self.inverseBase
        topPower = topPower &* Self.inverseBase
        shrinkIfSparse()
        return element
    }

    mutating func popBack() -> [UInt8] {
        precondition(count > 0, "pop from an empty list")
        let slot = (head + count - 1) & (storage.count - 1)
        let element = storage[slot]
        storage[slot] = []
        count -= 1
        byteCount -= element.count
        topPower = topPower &* Self.inverseBase
        digest = digest &- Self.hash(element) &* topPower
        shrinkIfSparse()
        return element
    }

    /// Replaces the element at `position`.
    mutating func replace(at position: Int, with element: [UInt8]) {
        let old = self[position]
        let weight = Self.power(position)
        digest = digest &- Self.hash(old) &* weight &+ Self.hash(element) &* weight
        byteCount += element.count - old.count
        storage[(head + position) & (storage.count - 1)] = element
    }

    private mutating func growIfFull() {
        guard count == storage.count else { return }
        relayout(slots: max(Self.slotsFloor, storage.count * 2))
    }

    /// Gives back memory once at most an eighth of the slots are used.
    private mutating func shrinkIfSparse() {
        guard storage.count > Self.slotsFloor, count * 8 <= storage.count else { return }
        relayout(slots: max(Self.slotsFloor, storage.count / 4))
    }

    private mutating func relayout(slots: Int) {
        var fresh = [[UInt8]](repeating: [], count: slots)
        for position in 0..<count { fresh[position] = self[position] }
        storage = fresh
        head = 0
    }

    private static func hash(_ element: [UInt8]) -> UInt64 {
        SplitMix64.mix(KeyValueStore.contentHash(key: element[...], value: []))
    }

    /// `base^exponent` mod 2^64.
    private static func power(_ exponent: Int) -> UInt64 {
        var result: UInt64 = 1, factor = base, remaining = exponent
        while remaining > 0 {
            if remaining & 1 == 1 { result = result &* factor }
            factor = factor &* factor
            remaining >>= 1
        }
        return result
    }

    /// Checks the digest, byte count and weight against the elements; for tests and debug builds.
    func checkInvariants() {
        var sum: UInt64 = 0, bytes = 0, weight: UInt64 = 1
        for position in 0..<count {
            sum = sum &+ Self.hash(self[position]) &* weight
            weight = weight &* Self.base
            bytes += self[position].count
        }
        precondition(sum == digest, "a list's digest drifted from its elements")
        precondition(bytes == byteCount, "a list's byte count drifted from its elements")
        precondition(weight == topPower, "a list's top weight drifted from its length")
        precondition(storage.isEmpty || storage.count & (storage.count - 1) == 0, "a list's ring is not a power of two")
    }
}
