/// The options of one `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]` (or `SORT_RO`, the same without STORE), read as Redis 7.0's `sortCommandGeneric` reads them.
///
/// Options come in any order and a later one wins (a second BY, LIMIT or STORE replaces the first; GETs add up). An
/// option missing its arguments, an unknown word, and STORE in SORT_RO are "ERR syntax error"; a LIMIT number that
/// is not a 64-bit integer is "ERR value is not an integer or out of range".
struct SortRequest {
    /// DESC: the order reversed (and, with a constant BY, a list or sorted set read from its tail).
    var isDescending = false
    /// ALPHA: elements (or BY's values) compared as bytes rather than as doubles.
    var isAlpha = false
    /// LIMIT's offset and count as given; Redis clamps them to the collection (`range(count:)`), and count -1 is all.
    var limitOffset: Int64 = 0
    var limitCount: Int64 = -1
    /// BY's pattern: the key (or `key->field`) whose value weighs each element; without a `*` it is constant, and
    /// the elements are not sorted at all (`BY nosort`).
    var weightPattern: [UInt8]?
    /// GET's patterns, in order: each element's reply is what they name instead of the element itself.
    var getPatterns: [[UInt8]] = []
    /// STORE's destination: the result becomes a list there (deleting the key when it is empty).
    var destination: StoreKey?

    /// Why a request is refused before any key is read.
    enum Refusal: Error {
        case syntax, notInteger

        /// The error reply Redis gives.
        var reply: [UInt8] { self == .syntax ? Replies.syntaxError : Replies.notInteger }
    }

    /// The options after the key (position 2 on); `isReadOnly` for SORT_RO, which knows no STORE.
    init(_ arguments: CommandArguments, isReadOnly: Bool) throws(Refusal) {
        var position = 2
        while position < arguments.count {
            let option = arguments.bytes(at: position)
            let remaining = arguments.count - position - 1
            if ASCII.equals(option, "asc") {
                isDescending = false
            } else if ASCII.equals(option, "desc") {
                isDescending = true
            } else if ASCII.equals(option, "alpha") {
                isAlpha = true
            } else if ASCII.equals(option, "limit"), remaining >= 2 {
                guard let offset = DecimalInteger.parse(arguments.bytes(at: position + 1)),
                    let count = DecimalInteger.parse(arguments.bytes(at: position + 2))
                else { throw .notInteger }
                (limitOffset, limitCount) = (offset, count)
                position += 2
            } else if !isReadOnly, ASCII.equals(option, "store"), remaining >= 1 {
                destination = arguments.key(at: position + 1).owned
                position += 1
            } else if ASCII.equals(option, "by"), remaining >= 1 {
                weightPattern = arguments[position + 1]
                position += 1
            } else if ASCII.equals(option, "get"), remaining >= 1 {
                getPatterns.append(arguments[position + 1])
                position += 1
            } else {
                throw .syntax
            }
            position += 1
        }
    }

    /// Whether BY names a constant (no `*`): Redis then skips sorting and keeps the collection's own order.
    var isUnsorted: Bool {
        weightPattern.map { !$0.contains(UInt8(ascii: "*")) } ?? false
    }

    /// The positions LIMIT selects among `count` sorted elements: Redis's clamping, in which a negative offset is 0,
    /// a negative count is everything after the offset, and an offset past the end selects nothing.
    func range(count: Int) -> Range<Int> {
        let length = Int64(count)
        var start = min(max(limitOffset, 0), length)
        let wanted = min(max(limitCount, -1), length)
        var end = wanted < 0 ? length - 1 : start + wanted - 1
        if start >= length {
            start = length - 1
            end = length - 2
        }
        if end >= length { end = length - 1 }
        return end < start ? 0..<0 : Int(start)..<Int(end + 1)
    }
}
