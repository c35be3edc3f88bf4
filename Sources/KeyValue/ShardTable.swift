/// The store's shards, kept in pages of `pageSize`: what a write after a snapshot copies is one page of shard
/// references and the one shard it touches, not a reference to every shard.
///
/// A snapshot holds the table as it was; the first write afterwards copies the list of pages (one reference per
/// `pageSize` shards, so thousands of times fewer than shards) and the page it writes in. One flat array of shards would
/// make that first write cost a reference per shard: milliseconds at tens of millions of keys.
struct ShardTable: RandomAccessCollection, MutableCollection, ExpressibleByArrayLiteral, Sendable {
    /// Shards per page; a power of two, so a shard's page and place are a shift and a mask.
    static let pageSize = 1 << pageShift
    private static let pageShift = 10

    private var pages: [[StoreShard]] = []
    /// Shards in the table.
    private(set) var count = 0

    /// A table of `elements`, in order.
    init(arrayLiteral elements: StoreShard...) {
        for shard in elements { append(shard) }
    }

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    subscript(index: Int) -> StoreShard {
        get {
            precondition(index >= 0 && index < count, "shard \(index) of \(count)")
            return pages[index >> Self.pageShift][index & (Self.pageSize - 1)]
        }
        _modify {
            precondition(index >= 0 && index < count, "shard \(index) of \(count)")
            yield &pages[index >> Self.pageShift][index & (Self.pageSize - 1)]
        }
        set {
            precondition(index >= 0 && index < count, "shard \(index) of \(count)")
            pages[index >> Self.pageShift][index & (Self.pageSize - 1)] = newValue
        }
    }

    /// `body`'s result on shard `index`, read in place: the subscript returns a copy, which would retain each of the
    /// shard's arrays.
    func withShard<Result>(_ index: Int, _ body: (borrowing StoreShard) -> Result) -> Result {
        body(pages[index >> Self.pageShift][index & (Self.pageSize - 1)])
    }

    /// Where each page's storage lives: tests see through it which pages a write copied.
    var pageStorageAddresses: [UnsafeRawPointer?] {
        pages.map { page in page.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } }
    }

    /// Adds `shard` at the end, opening a page when the last is full. A page grows as it fills (to exactly
    /// `pageSize`, by doubling), so a table of a few shards, as a collection's members are, holds no more.
    mutating func append(_ shard: StoreShard) {
        if count & (Self.pageSize - 1) == 0 { pages.append([]) }
        pages[pages.count - 1].append(shard)
        count += 1
    }

    /// Removes and returns the last shard, dropping its page when it empties.
    @discardableResult
    mutating func removeLast() -> StoreShard {
        precondition(count > 0, "no shard to remove")
        let shard = pages[pages.count - 1].removeLast()
        if pages[pages.count - 1].isEmpty { pages.removeLast() }
        count -= 1
        return shard
    }
}
