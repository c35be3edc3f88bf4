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

    /// The value of `key` in shard `index` (nil when absent), read in place: a copy of the shard, which the subscript
    /// returns, would retain each of its arrays.
    func value(of key: StoreKey, hash: UInt64, inShard index: Int) -> ArraySlice<UInt8>? {
        let (page, place) = (index >> Self.pageShift, index & (Self.pageSize - 1))
        guard let slot = pages[page][place].find(key, hash: hash) else { return nil }
        return pages[page][place].value(at: slot)
    }

    /// The key (or member) and value at `position` of shard `index`, read in place.
    func member(atPosition position: Int, inShard index: Int) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        let record = pages[index >> Self.pageShift][index & (Self.pageSize - 1)].record(atPosition: position)
        return (record.key, record.value)
    }

    /// Whether shard `index` holds `key`, read in place.
    func contains(_ key: StoreKey, hash: UInt64, inShard index: Int) -> Bool {
        pages[index >> Self.pageShift][index & (Self.pageSize - 1)].find(key, hash: hash) != nil
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
