/// The members of a sorted set in order of score, then member bytes: sorted chunks of entries, in pages of chunks.
///
/// An entry is a score and the member's bytes, kept here as well as in the set's `MemberTable` (which maps each member
/// to its score), so the order does not depend on where the table keeps a member. A chunk holds at most
/// `chunkEntriesLimit` entries and, unless it holds one, `chunkBytesLimit` bytes of members; a page holds at most
/// `pageChunksLimit` chunks, with their sizes and last scores side by side. An insertion or removal moves (and the first write after a
/// snapshot copies) one chunk and one page's list of chunks, plus the list of pages when a page splits or goes. A
/// search bisects the pages, the page's chunks and the chunk by their last entries; a rank finds its page through
/// prefix sums of the pages' entries and adds up the sizes of the page's chunks before it, O(log count +
/// pageChunksLimit). The order holds only what the table holds, so the snapshot and the digest need not carry it: a
/// restore rebuilds it, and however its chunks fall, every answer reads the same.
struct ScoreOrder: Sendable {
    /// Most entries in a chunk: small enough that moving them is cheap.
    static let chunkEntriesLimit = 128
    /// Most bytes of members in a chunk of more than one entry.
    static let chunkBytesLimit = 16 << 10
    /// Most chunks in a page: what a rank adds up inside its page, and what a write after a snapshot copies besides
    /// its chunk. A page holds thousands of entries, so the list of pages stays short.
    static let pageChunksLimit = 256
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

    /// Consecutive chunks, never empty while in the list, with each chunk's size and last score beside it: a rank
    /// reads the sizes, and a search the scores, without visiting every chunk's storage.
    private struct Page: Sendable {
        struct Summary: Sendable, Equatable {
            var count: Int
            var lastScore: Double

            init(_ chunk: Chunk) {
                count = chunk.count
                lastScore = chunk.scores[chunk.count - 1]
            }
        }

        var chunks: [Chunk] = []
        var summaries: [Summary] = []
        var entryCount = 0
        var isOverfull: Bool { chunks.count > ScoreOrder.pageChunksLimit }

        init(_ chunks: ArraySlice<Chunk>) {
            self.chunks = Array(chunks)
            summaries = chunks.map(Summary.init)
            entryCount = summaries.reduce(0) { $0 + $1.count }
        }

        /// The size of chunk `index`.
        func count(_ index: Int) -> Int { summaries[index].count }

        /// Takes chunk `index`'s size and last score again, after it changed.
        mutating func summarize(_ index: Int) { summaries[index] = Summary(chunks[index]) }

        /// The first entry for which `isBefore` is false, or one past the last; `isBefore` as in `firstCursor`.
        func firstPlace(where isBefore: (Double, () -> ArraySlice<UInt8>) -> Bool) -> (chunk: Int, index: Int) {
            let chunk = ScoreOrder.firstIndex(below: chunks.count) { middle in
                isBefore(summaries[middle].lastScore) { chunks[middle].member(summaries[middle].count - 1) }
            }
            guard chunk < chunks.count else { return (chunks.count - 1, count(chunks.count - 1)) }
            let index = ScoreOrder.firstIndex(below: count(chunk)) { middle in
                isBefore(chunks[chunk].scores[middle]) { chunks[chunk].member(middle) }
            }
            return (chunk, index)
        }
    }

    /// A place in the order: entry `index` of chunk `chunk` of page `page`. The end is one past the last entry of the
    /// last chunk (or all zeros when the order is empty). Valid until the order next changes.
    struct Cursor: Equatable, Sendable {
        var page: Int
        var chunk: Int
        var index: Int
    }

    private var pages: [Page] = []
    /// Each page's `entryCount`, summed for ranks.
    private var pageSums = PrefixSums()
    /// Entries in the order.
    private(set) var count = 0
    /// Bytes of the members, for MEMORY USAGE's estimate.
    private(set) var memberByteCount = 0

    /// An empty order.
    init() {}

    /// Chunks in the order; for tests.
    var chunkCount: Int { pages.reduce(0) { $0 + $1.chunks.count } }
    /// Pages in the order; for tests.
    var pageCount: Int { pages.count }

    /// The cursor one past the last entry.
    var end: Cursor {
        guard let last = pages.last else { return Cursor(page: 0, chunk: 0, index: 0) }
        return Cursor(page: pages.count - 1, chunk: last.chunks.count - 1, index: last.count(last.chunks.count - 1))
    }

    /// Whether `cursor` names an entry (rather than the end).
    func isEntry(_ cursor: Cursor) -> Bool {
        cursor.page < pages.count && cursor.chunk < pages[cursor.page].chunks.count
            && cursor.index < pages[cursor.page].count(cursor.chunk)
    }

    /// The score of the entry at `cursor`.
    func score(at cursor: Cursor) -> Double { pages[cursor.page].chunks[cursor.chunk].scores[cursor.index] }

    /// The member of the entry at `cursor`, viewing the order's storage.
    func member(at cursor: Cursor) -> ArraySlice<UInt8> {
        pages[cursor.page].chunks[cursor.chunk].member(cursor.index)
    }

    /// The entry after `cursor`, or the end.
    func next(_ cursor: Cursor) -> Cursor {
        let page = pages[cursor.page]
        if cursor.index + 1 < page.count(cursor.chunk) {
            return Cursor(page: cursor.page, chunk: cursor.chunk, index: cursor.index + 1)
        }
        if cursor.chunk + 1 < page.chunks.count { return Cursor(page: cursor.page, chunk: cursor.chunk + 1, index: 0) }
        if cursor.page + 1 < pages.count { return Cursor(page: cursor.page + 1, chunk: 0, index: 0) }
        return end
    }

    /// The entry before `cursor`, nil before the first.
    func previous(_ cursor: Cursor) -> Cursor? {
        if cursor.index > 0 { return Cursor(page: cursor.page, chunk: cursor.chunk, index: cursor.index - 1) }
        if cursor.chunk > 0 {
            let index = pages[cursor.page].count(cursor.chunk - 1) - 1
            return Cursor(page: cursor.page, chunk: cursor.chunk - 1, index: index)
        }
        guard cursor.page > 0 else { return nil }
        let page = pages[cursor.page - 1], chunk = page.chunks.count - 1
        return Cursor(page: cursor.page - 1, chunk: chunk, index: page.count(chunk) - 1)
    }

    /// The cursor of the entry of `rank` (0 is the lowest), or the end when `rank` is `count`.
    func cursor(ofRank rank: Int) -> Cursor {
        precondition(rank >= 0 && rank <= count, "rank \(rank) of \(count)")
        guard rank < count else { return end }
        var (page, remaining) = pageSums.locate(rank)
        for (chunk, summary) in pages[page].summaries.enumerated() {
            if remaining < summary.count { return Cursor(page: page, chunk: chunk, index: remaining) }
            remaining -= summary.count
        }
        preconditionFailure("a page's entry count drifted from its chunks")
    }

    /// The rank of the entry at `cursor` (`count` for the end).
    func rank(of cursor: Cursor) -> Int {
        guard cursor.page < pages.count else { return count }
        let before = pages[cursor.page].summaries[..<cursor.chunk].reduce(0) { $0 + $1.count }
        return pageSums.sum(upTo: cursor.page) + before + cursor.index
    }

    /// The first entry for which `isBefore(score, member)` is false, or the end; `isBefore` must hold for a prefix
    /// of the order and fail for the rest. O(log count) calls of `isBefore`. It gets the member's bytes through a
    /// function, to call only when the score does not decide: a probe that reads only a score touches one array.
    func firstCursor(where isBefore: (Double, () -> ArraySlice<UInt8>) -> Bool) -> Cursor {
        let page = Self.firstIndex(below: pages.count) { middle in
            let lastChunk = pages[middle].chunks.count - 1, last = pages[middle].summaries[lastChunk]
            return isBefore(last.lastScore) { pages[middle].chunks[lastChunk].member(last.count - 1) }
        }
        guard page < pages.count else { return end }
        let (chunk, index) = pages[page].firstPlace(where: isBefore)
        return Cursor(page: page, chunk: chunk, index: index)
    }

    /// The first of `0..<bound` for which `isBefore` is false, or `bound`; it must hold for a prefix and fail after.
    private static func firstIndex(below bound: Int, _ isBefore: (Int) -> Bool) -> Int {
        var low = 0, high = bound
        while low < high {
            let middle = (low + high) / 2
            if isBefore(middle) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Inserts an entry at `cursor` (as `firstCursor` found it for the new entry), splitting an overfull chunk in two,
    /// and an overfull page.
    mutating func insert(score: Double, member: ArraySlice<UInt8>, at cursor: Cursor) {
        count += 1
        memberByteCount += member.count
        guard !pages.isEmpty else {
            pages.append(Page([Chunk(scores: [score], ends: [UInt32(member.count)], bytes: Array(member))]))
            pageSums.append(1)
            return
        }
        let (page, chunk) = (cursor.page, cursor.chunk)
        Self.insert(score: score, member: member, at: cursor.index, in: &pages[page].chunks[chunk])
        pages[page].entryCount += 1
        pageSums.add(1, at: page)
        if pages[page].chunks[chunk].isOverfull {
            let half = pages[page].chunks[chunk].count / 2
            let upper = pages[page].chunks[chunk].suffix(from: half)
            pages[page].chunks[chunk].removeSuffix(from: half)
            pages[page].chunks.insert(upper, at: chunk + 1)
            pages[page].summaries.insert(Page.Summary(upper), at: chunk + 1)
        }
        pages[page].summarize(chunk)
        guard pages[page].isOverfull else { return }
        let half = pages[page].chunks.count / 2
        let upper = Page(pages[page].chunks[half...])
        pages[page] = Page(pages[page].chunks[..<half])
        pages.insert(upper, at: page + 1)
        rebuildPageSums()
    }

    private static func insert(score: Double, member: ArraySlice<UInt8>, at index: Int, in chunk: inout Chunk) {
        let start = chunk.start(index)
        chunk.bytes.insert(contentsOf: member, at: start)
        chunk.scores.insert(score, at: index)
        chunk.ends.insert(UInt32(start), at: index)
        for later in index..<chunk.count { chunk.ends[later] += UInt32(member.count) }
    }

    /// Removes the entry at `cursor`; a chunk left under a quarter full joins a neighbour in its page that has room,
    /// and so does a page.
    mutating func remove(at cursor: Cursor) {
        let (page, chunk) = (cursor.page, cursor.chunk)
        count -= 1
        let bytes = pages[page].chunks[chunk].start(cursor.index)..<Int(pages[page].chunks[chunk].ends[cursor.index])
        memberByteCount -= bytes.count
        Self.remove(at: cursor.index, bytes: bytes, in: &pages[page].chunks[chunk])
        pages[page].entryCount -= 1
        pageSums.add(-1, at: page)
        let size = pages[page].chunks[chunk].count
        if size == 0 {
            pages[page].chunks.remove(at: chunk)
            pages[page].summaries.remove(at: chunk)
        } else {
            pages[page].summarize(chunk)
            if size < Self.chunkEntriesLimit / 4 {
                if chunk + 1 < pages[page].chunks.count, fitTogether(chunk, in: page) {
                    mergeChunk(chunk, in: page)
                } else if chunk > 0, fitTogether(chunk - 1, in: page) {
                    mergeChunk(chunk - 1, in: page)
                }
            }
        }
        let chunks = pages[page].chunks.count
        if chunks == 0 {
            pages.remove(at: page)
            rebuildPageSums()
        } else if chunks < Self.pageChunksLimit / 4 {
            if page + 1 < pages.count, chunks + pages[page + 1].chunks.count <= Self.pageChunksLimit {
                mergePage(page)
            } else if page > 0, pages[page - 1].chunks.count + chunks <= Self.pageChunksLimit {
                mergePage(page - 1)
            }
        }
    }

    private static func remove(at index: Int, bytes: Range<Int>, in chunk: inout Chunk) {
        chunk.bytes.removeSubrange(bytes)
        chunk.scores.remove(at: index)
        chunk.ends.remove(at: index)
        for later in index..<chunk.count { chunk.ends[later] -= UInt32(bytes.count) }
    }

    /// Whether chunk `first` of `page` and the chunk after it fit in one.
    private func fitTogether(_ first: Int, in page: Int) -> Bool {
        let chunks = pages[page].chunks
        return chunks[first].count + chunks[first + 1].count <= Self.chunkEntriesLimit
            && chunks[first].bytes.count + chunks[first + 1].bytes.count <= Self.chunkBytesLimit
    }

    /// Moves chunk `index + 1` of `page` onto the end of chunk `index`.
    private mutating func mergeChunk(_ index: Int, in page: Int) {
        let next = pages[page].chunks.remove(at: index + 1)
        pages[page].summaries.remove(at: index + 1)
        pages[page].chunks[index].append(next)
        pages[page].summarize(index)
    }

    /// Moves page `index + 1`'s chunks onto the end of page `index`.
    private mutating func mergePage(_ index: Int) {
        let next = pages.remove(at: index + 1)
        pages[index].chunks.append(contentsOf: next.chunks)
        pages[index].summaries.append(contentsOf: next.summaries)
        pages[index].entryCount += next.entryCount
        rebuildPageSums()
    }

    /// Sums the pages again after the list of pages changed: O(pages), at most once per split or merge of a page.
    private mutating func rebuildPageSums() {
        pageSums = PrefixSums()
        for page in pages { pageSums.append(page.entryCount) }
    }

    /// Checks the chunk and page sizes, the counts and sums, and that `precedes` holds between consecutive entries;
    /// for tests and debug builds.
    func checkInvariants(_ precedes: (Double, ArraySlice<UInt8>, Double, ArraySlice<UInt8>) -> Bool) {
        var total = 0, bytes = 0
        var last: (Double, ArraySlice<UInt8>)?
        for (pageIndex, page) in pages.enumerated() {
            precondition(!page.chunks.isEmpty && !page.isOverfull, "a page's size is out of bounds")
            precondition(page.summaries == page.chunks.map(Page.Summary.init), "a page's summaries drifted")
            precondition(page.entryCount == page.chunks.reduce(0) { $0 + $1.count }, "a page's entry count drifted")
            precondition(pageSums.sum(upTo: pageIndex) == total, "the pages' sums drifted from their entries")
            for chunk in page.chunks {
                precondition(chunk.count > 0 && !chunk.isOverfull, "a chunk's size is out of bounds")
                precondition(chunk.scores.count == chunk.ends.count, "a chunk's scores and members differ in number")
                precondition(
                    chunk.ends.last.map(Int.init) == chunk.bytes.count, "a chunk's members end before its bytes")
                for index in 0..<chunk.count {
                    precondition(chunk.start(index) <= Int(chunk.ends[index]), "a member ends before it starts")
                    let entry = (chunk.scores[index], chunk.member(index))
                    if let last { precondition(precedes(last.0, last.1, entry.0, entry.1), "the order is not sorted") }
                    last = entry
                }
                total += chunk.count
                bytes += chunk.bytes.count
            }
        }
        precondition(total == count, "the order's count drifted from its chunks")
        precondition(bytes == memberByteCount, "the order's byte count drifted from its chunks")
    }
}
