/// The members of a sorted set in order of score, then member bytes: a list of sorted chunks of entries.
///
/// An entry is a score and the member's bytes, kept here as well as in the set's `MemberTable` (which maps each member
/// to its score), so the order does not depend on where the table keeps a member. A chunk holds at most
/// `chunkEntriesLimit` entries and, unless it holds one, `chunkBytesLimit` bytes of members, so an insertion or removal
/// moves (and the first write after a snapshot copies) a bounded chunk, plus the list of chunks (`count / 32`
/// references at worst) when a chunk splits or goes. A search bisects the chunks by their last entries, then the
/// chunk; a rank adds up the sizes of the chunks before, O(count / chunk + log chunk). The order holds only what the
/// table holds, so the snapshot and the digest need not carry it: a restore rebuilds it, and however its chunks fall,
/// every answer reads the same.
struct ScoreOrder: Sendable {
    /// Most entries in a chunk: small enough that moving them is cheap, large enough that the list of chunks (the
    /// part a rank walks) stays short.
    static let chunkEntriesLimit = 128
    /// Most bytes of members in a chunk of more than one entry.
    static let chunkBytesLimit = 16 << 10
    /// What each member costs here besides its bytes: its score and where its bytes end, for MEMORY USAGE's estimate.
    static let bytesPerMember = MemoryLayout<Double>.size + MemoryLayout<UInt32>.size

    /// A run of consecutive entries, sorted; never empty while in the list. Entry `i`'s member is the bytes from
    /// the end of entry `i - 1`'s (or 0) to `ends[i]`.
    private struct Chunk: Sendable {
        var scores: [Double] = []
        var ends: [UInt32] = []
        var bytes: [UInt8] = []
        var count: Int { scores.count }

        func start(_ index: Int) -> Int { index == 0 ? 0 : Int(ends[index - 1]) }
        func member(_ index: Int) -> ArraySlice<UInt8> { bytes[start(index)..<Int(ends[index])] }
        var isOverfull: Bool {
            count > ScoreOrder.chunkEntriesLimit || (count > 1 && bytes.count > ScoreOrder.chunkBytesLimit)
        }

        /// The entries from `index` on, as a chunk of their own.
        func suffix(from index: Int) -> Chunk {
            let base = UInt32(start(index))
            return Chunk(scores: Array(scores[index...]), ends: ends[index...].map { $0 - base },
                bytes: Array(bytes[Int(base)...]))
        }

        /// Drops the entries from `index` on.
        mutating func removeSuffix(from index: Int) {
            bytes.removeSubrange(start(index)...)
            scores.removeSubrange(index...)
            ends.removeSubrange(index...)
        }

        /// Appends `other`'s entries after these.
        mutating func append(_ other: Chunk) {
            let base = UInt32(bytes.count)
            scores.append(contentsOf: other.scores)
            ends.append(contentsOf: other.ends.lazy.map { $0 + base })
            bytes.append(contentsOf: other.bytes)
        }
    }

    /// A place in the order: entry `index` of chunk `chunk`. The end is one past the last entry of the last chunk
    /// (or `(0, 0)` when the order is empty). Valid until the order next changes.
    struct Cursor: Equatable, Sendable {
        var chunk: Int
        var index: Int
    }

    private var chunks: [Chunk] = []
    /// Entries in the order.
    private(set) var count = 0
    /// Bytes of the members, for MEMORY USAGE's estimate.
    private(set) var memberByteCount = 0

    /// An empty order.
    init() {}

    /// Chunks in the order; for tests.
    var chunkCount: Int { chunks.count }

    /// The cursor one past the last entry.
    var end: Cursor {
        guard let last = chunks.last else { return Cursor(chunk: 0, index: 0) }
        return Cursor(chunk: chunks.count - 1, index: last.count)
    }

    /// Whether `cursor` names an entry (rather than the end).
    func isEntry(_ cursor: Cursor) -> Bool {
        cursor.chunk < chunks.count && cursor.index < chunks[cursor.chunk].count
    }

    /// The score of the entry at `cursor`.
    func score(at cursor: Cursor) -> Double { chunks[cursor.chunk].scores[cursor.index] }

    /// The member of the entry at `cursor`, viewing the order's storage.
    func member(at cursor: Cursor) -> ArraySlice<UInt8> { chunks[cursor.chunk].member(cursor.index) }

    /// The entry after `cursor`, or the end.
    func next(_ cursor: Cursor) -> Cursor {
        if cursor.index + 1 < chunks[cursor.chunk].count { return Cursor(chunk: cursor.chunk, index: cursor.index + 1) }
        if cursor.chunk + 1 < chunks.count { return Cursor(chunk: cursor.chunk + 1, index: 0) }
        return end
    }

    /// The entry before `cursor`, nil before the first.
    func previous(_ cursor: Cursor) -> Cursor? {
        if cursor.index > 0 { return Cursor(chunk: cursor.chunk, index: cursor.index - 1) }
        if cursor.chunk > 0 { return Cursor(chunk: cursor.chunk - 1, index: chunks[cursor.chunk - 1].count - 1) }
        return nil
    }

    /// The cursor of the entry of `rank` (0 is the lowest), or the end when `rank` is `count`. O(count / chunk).
    func cursor(ofRank rank: Int) -> Cursor {
        precondition(rank >= 0 && rank <= count, "rank \(rank) of \(count)")
        var remaining = rank
        for (index, chunk) in chunks.enumerated() {
            if remaining < chunk.count { return Cursor(chunk: index, index: remaining) }
            remaining -= chunk.count
        }
        return end
    }

    /// The rank of the entry at `cursor` (`count` for the end). O(count / chunk).
    func rank(of cursor: Cursor) -> Int {
        var rank = cursor.index
        for index in 0..<min(cursor.chunk, chunks.count) { rank += chunks[index].count }
        return rank
    }

    /// The first entry for which `isBefore(score, member)` is false, or the end; `isBefore` must hold for a prefix
    /// of the order and fail for the rest. O(log count) calls of `isBefore`.
    func firstCursor(where isBefore: (Double, ArraySlice<UInt8>) -> Bool) -> Cursor {
        var low = 0, high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            let last = chunks[middle].count - 1
            if isBefore(chunks[middle].scores[last], chunks[middle].member(last)) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        guard low < chunks.count else { return end }
        let chunk = chunks[low]
        var first = 0, beyond = chunk.count
        while first < beyond {
            let middle = (first + beyond) / 2
            if isBefore(chunk.scores[middle], chunk.member(middle)) {
                first = middle + 1
            } else {
                beyond = middle
            }
        }
        return Cursor(chunk: low, index: first)
    }

    /// Inserts an entry at `cursor` (as `firstCursor` found it for the new entry), splitting an overfull chunk in two.
    mutating func insert(score: Double, member: ArraySlice<UInt8>, at cursor: Cursor) {
        count += 1
        memberByteCount += member.count
        guard !chunks.isEmpty else {
            chunks.append(Chunk(scores: [score], ends: [UInt32(member.count)], bytes: Array(member)))
            return
        }
        Self.insert(score: score, member: member, at: cursor.index, in: &chunks[cursor.chunk])
        guard chunks[cursor.chunk].isOverfull else { return }
        let half = chunks[cursor.chunk].count / 2
        let upper = chunks[cursor.chunk].suffix(from: half)
        chunks[cursor.chunk].removeSuffix(from: half)
        chunks.insert(upper, at: cursor.chunk + 1)
    }

    private static func insert(score: Double, member: ArraySlice<UInt8>, at index: Int, in chunk: inout Chunk) {
        let start = chunk.start(index)
        chunk.bytes.insert(contentsOf: member, at: start)
        chunk.scores.insert(score, at: index)
        chunk.ends.insert(UInt32(start), at: index)
        for later in index..<chunk.count { chunk.ends[later] += UInt32(member.count) }
    }

    /// Removes the entry at `cursor`; a chunk left under a quarter full joins a neighbour that has room.
    mutating func remove(at cursor: Cursor) {
        count -= 1
        let (start, end) = (chunks[cursor.chunk].start(cursor.index), Int(chunks[cursor.chunk].ends[cursor.index]))
        memberByteCount -= end - start
        chunks[cursor.chunk].bytes.removeSubrange(start..<end)
        chunks[cursor.chunk].scores.remove(at: cursor.index)
        chunks[cursor.chunk].ends.remove(at: cursor.index)
        for later in cursor.index..<chunks[cursor.chunk].count {
            chunks[cursor.chunk].ends[later] -= UInt32(end - start)
        }
        let size = chunks[cursor.chunk].count
        if size == 0 {
            chunks.remove(at: cursor.chunk)
            return
        }
        guard size < Self.chunkEntriesLimit / 4 else { return }
        if cursor.chunk + 1 < chunks.count, fits(chunks[cursor.chunk], chunks[cursor.chunk + 1]) {
            merge(cursor.chunk)
        } else if cursor.chunk > 0, fits(chunks[cursor.chunk - 1], chunks[cursor.chunk]) {
            merge(cursor.chunk - 1)
        }
    }

    private func fits(_ first: Chunk, _ second: Chunk) -> Bool {
        first.count + second.count <= Self.chunkEntriesLimit
            && first.bytes.count + second.bytes.count <= Self.chunkBytesLimit
    }

    /// Moves chunk `index + 1` onto the end of chunk `index`.
    private mutating func merge(_ index: Int) {
        let next = chunks.remove(at: index + 1)
        chunks[index].append(next)
    }

    /// Checks the chunk sizes and the count, and that `precedes` holds between consecutive entries; for tests and
    /// debug builds.
    func checkInvariants(_ precedes: (Double, ArraySlice<UInt8>, Double, ArraySlice<UInt8>) -> Bool) {
        var total = 0, bytes = 0
        var last: (Double, ArraySlice<UInt8>)?
        for chunk in chunks {
            precondition(chunk.count > 0 && !chunk.isOverfull, "a chunk's size is out of bounds")
            precondition(chunk.scores.count == chunk.ends.count, "a chunk's scores and members differ in number")
            precondition(chunk.ends.last.map(Int.init) == chunk.bytes.count, "a chunk's members end before its bytes")
            for index in 0..<chunk.count {
                precondition(chunk.start(index) <= Int(chunk.ends[index]), "a member ends before it starts")
                let entry = (chunk.scores[index], chunk.member(index))
                if let last { precondition(precedes(last.0, last.1, entry.0, entry.1), "the order is not sorted") }
                last = entry
            }
            total += chunk.count
            bytes += chunk.bytes.count
        }
        precondition(total == count, "the order's count drifted from its chunks")
        precondition(bytes == memberByteCount, "the order's byte count drifted from its chunks")
    }
}
