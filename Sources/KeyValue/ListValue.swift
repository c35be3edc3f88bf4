/// A list's elements: a ring of fixed-size chunks of byte arrays, with a digest that depends on their order.
///
/// The digest is `Σ h(e_i)·B^i` (mod 2^64) over the positions `i` from the head, with `h` a mixed FNV-1a of the
/// element and `B` odd, hence invertible mod 2^64: a push or pop at either end updates it in O(1), replacing one
/// element in O(log n), and two lists with the same elements in another order differ. Operations that shift the
/// middle (LINSERT, LREM) rebuild the list, O(its length), as they cost in Redis.
///
/// Why chunks: a list may hold millions of elements, and no step may cost time in proportion to it. In one buffer,
/// the first push after a snapshot would copy the whole list (the snapshot shares it), and growing it would copy every
/// element. In chunks of at most `chunkSlotsLimit` slots, each copy-on-write on its own, a push after a snapshot
/// copies the chunk references and one chunk, and growing copies the references and splits one chunk. A short list
/// is one chunk that grows like a plain ring, so it costs no more than one.
struct ListValue: Sendable {
    /// The ring: `chunks.count × chunkSlots` slots (both powers of two, or no chunk at all), `count` of them used from
    /// `head` on. Slot `s` is `chunks[s >> chunkShift][s & (chunkSlots - 1)]`. With more than one chunk, a chunk no
    /// element is in is empty (`[]`), and gets its slots when an element is next put in it.
    private var chunks: [[[UInt8]]] = []
    private var chunkShift = 0
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
    /// Most slots in a chunk: what a write after a snapshot copies at most besides the references, and what growing
    /// moves at most. A list grows past it by adding chunks.
    static let chunkSlotsLimit = 1_024
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

    private var chunkSlots: Int { 1 << chunkShift }
    private var slotCount: Int { chunks.count << chunkShift }

    /// The slot of the element at `position` from the head.
    @inline(__always)
    private func slot(_ position: Int) -> Int { (head + position) & (slotCount - 1) }

    /// The element at `position` from the head.
    subscript(position: Int) -> [UInt8] {
        precondition(position >= 0 && position < count, "list position \(position) of \(count)")
        let slot = slot(position)
        return chunks[slot >> chunkShift][slot & (chunkSlots - 1)]
    }

    /// Calls `body` with the bytes of each element at `positions`, in order, read in place: a reply copies each once.
    func forEachElement(in positions: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        precondition(positions.isEmpty || (positions.lowerBound >= 0 && positions.upperBound <= count))
        for position in positions {
            let slot = slot(position)
            chunks[slot >> chunkShift][slot & (chunkSlots - 1)].withUnsafeBufferPointer(body)
        }
    }

    /// The elements at `positions`, in order.
    func elements(_ positions: Range<Int>) -> [[UInt8]] {
        positions.map { self[$0] }
    }

    mutating func pushFront(_ element: [UInt8]) {
        growIfFull()
        head = (head - 1) & (slotCount - 1)
        store(element, at: head)
        count += 1
        byteCount += element.count
        digest = Self.hash(element) &+ Self.base &* digest
        topPower = topPower &* Self.base
    }

    mutating func pushBack(_ element: [UInt8]) {
        growIfFull()
        store(element, at: slot(count))
        count += 1
        byteCount += element.count
        digest = digest &+ Self.hash(element) &* topPower
        topPower = topPower &* Self.base
    }

    mutating func popFront() -> [UInt8] {
        precondition(count > 0, "pop from an empty list")
        let element = take(at: head)
        head = (head + 1) & (slotCount - 1)
        count -= 1
        byteCount -= element.count
        digest = (digest &- Self.hash(element)) &* Self.inverseBase
        topPower = topPower &* Self.inverseBase
        shrinkIfSparse()
        return element
    }

    mutating func popBack() -> [UInt8] {
        precondition(count > 0, "pop from an empty list")
        let element = take(at: slot(count - 1))
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
        store(element, at: slot(position))
    }

    /// Puts `element` in `slot`, giving its chunk slots first if it has none.
    @inline(__always)
    private mutating func store(_ element: [UInt8], at slot: Int) {
        let chunk = slot >> chunkShift
        if chunks[chunk].isEmpty { chunks[chunk] = [[UInt8]](repeating: [], count: chunkSlots) }
        chunks[chunk][slot & (chunkSlots - 1)] = element
    }

    /// Takes the element out of `slot`, which is about to be the head's or the tail's no more, and lets its chunk's
    /// slots go when no element is left in it.
    private mutating func take(at slot: Int) -> [UInt8] {
        let chunk = slot >> chunkShift
        var element: [UInt8] = []
        swap(&element, &chunks[chunk][slot & (chunkSlots - 1)])
        if chunks.count > 1, !holdsElement(chunk, besides: slot) { chunks[chunk] = [] }
        return element
    }

    /// Whether an element other than the one at `slot` (the head or the tail) is in `chunk`: the used slots are one
    /// run around the ring, so it is enough to look at the slots beside `slot` in it, and at the other end's.
    private func holdsElement(_ chunk: Int, besides slot: Int) -> Bool {
        guard count > 1 else { return false }
        let other = slot == head ? self.slot(count - 1) : head
        if other >> chunkShift == chunk { return true }
        let next = slot == head ? self.slot(1) : self.slot(count - 2)
        return next >> chunkShift == chunk
    }

    private mutating func growIfFull() {
        guard count == slotCount else { return }
        if chunks.isEmpty {
            chunkShift = Self.slotsFloor.trailingZeroBitCount
            chunks = [[[UInt8]](repeating: [], count: Self.slotsFloor)]
            head = 0
        } else if chunks.count == 1 && chunkSlots < Self.chunkSlotsLimit {
            relayout(slots: chunkSlots * 2)
        } else {
            addChunks()
        }
    }

    /// Doubles the ring by chunks, moving references and one chunk's elements at most. The chunk holding the head
    /// becomes the first, the ones after it and then the ones before it follow, and the slots before the head in its
    /// chunk, which hold the last elements (the ring is full), move to a new chunk right after them; the head keeps
    /// its place in its chunk.
    private mutating func addChunks() {
        let first = head >> chunkShift, offset = head & (chunkSlots - 1)
        var grown: [[[UInt8]]] = []
        grown.reserveCapacity(chunks.count * 2)
        grown.append(contentsOf: chunks[first...])
        grown.append(contentsOf: chunks[..<first])
        var wrapped = [[UInt8]](repeating: [], count: chunkSlots)
        for slot in 0..<offset { swap(&wrapped[slot], &grown[0][slot]) }
        grown.append(offset == 0 ? [] : wrapped)
        grown.append(contentsOf: repeatElement([], count: chunks.count - 1))
        chunks = grown
        head = offset
    }

    /// Gives back memory once at most an eighth of the slots are used: a one-chunk ring shrinks to a quarter, and a
    /// ring of chunks whose elements would fit a quarter of one becomes one chunk (its empty chunks hold no slots).
    private mutating func shrinkIfSparse() {
        if chunks.count == 1 {
            guard chunkSlots > Self.slotsFloor, count * 8 <= chunkSlots else { return }
            relayout(slots: max(Self.slotsFloor, chunkSlots / 4))
        } else if count * 4 <= Self.chunkSlotsLimit {
            relayout(slots: max(Self.slotsFloor, Self.chunkSlotsLimit / 2))
        }
    }

    /// Moves the elements to one chunk of `slots` slots, the head at its start: at most `chunkSlotsLimit` elements.
    private mutating func relayout(slots: Int) {
        var fresh = [[UInt8]](repeating: [], count: slots)
        for position in 0..<count { fresh[position] = self[position] }
        chunks = [fresh]
        chunkShift = slots.trailingZeroBitCount
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

    /// Chunks in the ring: one for a short list. For tests.
    var chunkCount: Int { chunks.count }

    /// How many chunks with slots share their storage with `other`'s chunk in the same place: for tests of what a
    /// write after a snapshot copies.
    func chunksShared(with other: ListValue) -> Int {
        zip(chunks, other.chunks).filter { mine, theirs in
            let base = mine.withUnsafeBufferPointer { $0.baseAddress }
            return !mine.isEmpty && base == theirs.withUnsafeBufferPointer { $0.baseAddress }
        }.count
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
        precondition(chunks.count & (chunks.count - 1) == 0, "a list's ring is not a power of two")
        precondition(chunkSlots <= Self.chunkSlotsLimit, "a list's chunk is past its limit")
        // The used slots as up to two runs of slot numbers.
        let runs =
            head + count <= slotCount ? [head..<(head + count)] : [head..<slotCount, 0..<(head + count - slotCount)]
        for (index, chunk) in chunks.enumerated() {
            let slots = (index << chunkShift)..<((index + 1) << chunkShift)
            if chunks.count > 1 && !runs.contains(where: { $0.overlaps(slots) }) {
                precondition(chunk.isEmpty, "a list keeps slots in a chunk no element is in")
            } else {
                precondition(chunk.count == chunkSlots, "a list's chunk has \(chunk.count) slots, not \(chunkSlots)")
            }
        }
        for unused in count..<slotCount {
            let slot = slot(unused)
            let chunk = chunks[slot >> chunkShift]
            precondition(chunk.isEmpty || chunk[slot & (chunkSlots - 1)].isEmpty, "a list keeps a popped element")
        }
    }
}
