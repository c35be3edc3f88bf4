/// The members of a sorted set in order of score, then member bytes: a list of sorted chunks of entries.
///
/// An entry is a score and the member's position in the set's `StoreShard` (where its bytes are), 12 bytes; the
/// member's bytes are not kept twice. A chunk holds at most `chunkEntriesLimit` entries, so an insertion or removal
/// moves at most that many within its chunk, plus the list of chunks (`count / 64` references at worst) when a chunk
/// splits or goes. A search bisects the chunks by their last entries, then the chunk; a rank adds up the sizes of
/// the chunks before, O(count / chunk + log chunk). The order holds only what the shard holds, so the snapshot and
/// the digest need not carry it: a restore rebuilds it, and however its chunks fall, every answer reads the same.
struct ScoreOrder: Sendable {
    /// Most entries in a chunk: small enough that moving them is cheap, large enough that the list of chunks (the
    /// part a rank walks) stays short.
    static let chunkEntriesLimit = 128
    /// What each member costs here: its score and its position in the members, for MEMORY USAGE's estimate.
    static let bytesPerMember = MemoryLayout<Double>.size + MemoryLayout<UInt32>.size

    /// A run of consecutive entries, sorted; never empty while in the list.
    private struct Chunk: Sendable {
        var scores: [Double] = []
        var positions: [UInt32] = []
        var count: Int { scores.count }
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

    /// An empty order.
    init() {}

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

    /// The member position (in the set's shard) of the entry at `cursor`.
    func position(at cursor: Cursor) -> Int { Int(chunks[cursor.chunk].positions[cursor.index]) }

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

    /// The first entry for which `isBefore(score, position)` is false, or the end; `isBefore` must hold for a prefix
    /// of the order and fail for the rest. O(log count) calls of `isBefore`.
    func firstCursor(where isBefore: (Double, Int) -> Bool) -> Cursor {
        var low = 0, high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            let last = chunks[middle].count - 1
            if isBefore(chunks[middle].scores[last], Int(chunks[middle].positions[last])) {
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
            if isBefore(chunk.scores[middle], Int(chunk.positions[middle])) {
                first = middle + 1
            } else {
                beyond = middle
            }
        }
        return Cursor(chunk: low, index: first)
    }

    /// Inserts an entry at `cursor` (as `firstCursor` found it for the new entry), splitting a full chunk in two.
    mutating func insert(score: Double, position: Int, at cursor: Cursor) {
        count += 1
        guard !chunks.isEmpty else {
            chunks.append(Chunk(scores: [score], positions: [UInt32(position)]))
            return
        }
        chunks[cursor.chunk].scores.insert(score, at: cursor.index)
        chunks[cursor.chunk].positions.insert(UInt32(position), at: cursor.index)
        guard chunks[cursor.chunk].count > Self.chunkEntriesLimit else { return }
        let half = chunks[cursor.chunk].count / 2
        let upper = Chunk(
            scores: Array(chunks[cursor.chunk].scores[half...]),
            positions: Array(chunks[cursor.chunk].positions[half...]))
        chunks[cursor.chunk].scores.removeSubrange(half...)
        chunks[cursor.chunk].positions.removeSubrange(half...)
        chunks.insert(upper, at: cursor.chunk + 1)
    }

    /// Removes the entry at `cursor`; a chunk left under a quarter full joins a neighbour that has room.
    mutating func remove(at cursor: Cursor) {
        count -= 1
        chunks[cursor.chunk].scores.remove(at: cursor.index)
        chunks[cursor.chunk].positions.remove(at: cursor.index)
        let size = chunks[cursor.chunk].count
        if size == 0 {
            chunks.remove(at: cursor.chunk)
            return
        }
        guard size < Self.chunkEntriesLimit / 4 else { return }
        if cursor.chunk + 1 < chunks.count, size + chunks[cursor.chunk + 1].count <= Self.chunkEntriesLimit {
            merge(cursor.chunk)
        } else if cursor.chunk > 0, size + chunks[cursor.chunk - 1].count <= Self.chunkEntriesLimit {
            merge(cursor.chunk - 1)
        }
    }

    /// Moves chunk `index + 1` onto the end of chunk `index`.
    private mutating func merge(_ index: Int) {
        let next = chunks.remove(at: index + 1)
        chunks[index].scores.append(contentsOf: next.scores)
        chunks[index].positions.append(contentsOf: next.positions)
    }

    /// Points the entry at `cursor` to another member position (the shard moved that member).
    mutating func setPosition(_ position: Int, at cursor: Cursor) {
        chunks[cursor.chunk].positions[cursor.index] = UInt32(position)
    }

    /// Checks the chunk sizes and the count, and that `precedes` holds between consecutive entries; for tests and
    /// debug builds.
    func checkInvariants(_ precedes: (Double, Int, Double, Int) -> Bool) {
        var total = 0
        var last: (Double, Int)?
        for chunk in chunks {
            precondition(chunk.count > 0 && chunk.count <= Self.chunkEntriesLimit, "a chunk's size is out of bounds")
            precondition(chunk.scores.count == chunk.positions.count, "a chunk's scores and positions differ in length")
            for index in 0..<chunk.count {
                let entry = (chunk.scores[index], Int(chunk.positions[index]))
                if let last { precondition(precedes(last.0, last.1, entry.0, entry.1), "the order is not sorted") }
                last = entry
            }
            total += chunk.count
        }
        precondition(total == count, "the order's count drifted from its chunks")
    }
}
