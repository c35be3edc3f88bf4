/// A range of a sorted set as ZRANGE and its relatives name one: by rank, by score or by member bytes (lex).
///
/// Each resolves, against a set, to the ranks `lower..<upper` of its members, found by bisection: a score range
/// because the order is by score; a lex range because Redis's lex commands assume every member has one score, where
/// the order is by member bytes (with mixed scores Redis leaves the answer unspecified, and this one is
/// deterministic all the same).
enum SortedSetRange {
    case rank(start: Int64, stop: Int64)
    case score(min: ScoreBound, max: ScoreBound)
    case lex(min: LexBound, max: LexBound)

    /// One end of a score range: `(` makes it exclusive.
    struct ScoreBound {
        var value: Double
        var isExclusive: Bool
    }

    /// One end of a lex range: `-` and `+` (below and above every member), or `[member` and `(member`.
    enum LexBound {
        case minimum, maximum
        case member(ArraySlice<UInt8>, isExclusive: Bool)

        /// The bound `bytes` spell, nil where Redis answers "not valid string range item".
        init?(_ bytes: ArraySlice<UInt8>) {
            guard let first = bytes.first else { return nil }
            switch first {
            case UInt8(ascii: "+"): if bytes.count == 1 { self = .maximum } else { return nil }
            case UInt8(ascii: "-"): if bytes.count == 1 { self = .minimum } else { return nil }
            case UInt8(ascii: "("): self = .member(bytes.dropFirst(), isExclusive: true)
            case UInt8(ascii: "["): self = .member(bytes.dropFirst(), isExclusive: false)
            default: return nil
            }
        }
    }

    /// The score range `min` to `max` spell, nil where Redis answers "min or max is not a float".
    static func score(_ min: ArraySlice<UInt8>, _ max: ArraySlice<UInt8>) -> SortedSetRange? {
        guard let low = Score.parseBound(min), let high = Score.parseBound(max) else { return nil }
        return .score(
            min: ScoreBound(value: low.value, isExclusive: low.isExclusive),
            max: ScoreBound(value: high.value, isExclusive: high.isExclusive))
    }

    /// The lex range `min` to `max` spell, nil where Redis answers "min or max not valid string range item".
    static func lex(_ min: ArraySlice<UInt8>, _ max: ArraySlice<UInt8>) -> SortedSetRange? {
        guard let low = LexBound(min), let high = LexBound(max) else { return nil }
        return .lex(min: low, max: high)
    }

    /// The ranks of `set` this range covers (empty when none); for a rank range, `isReversed` counts from the top.
    func ranks(in set: CollectionValue, isReversed: Bool = false) -> Range<Int> {
        let count = set.count
        switch self {
        case .rank(let start, let stop):
            let range = KeyValueStore.range(start, stop, count: count)
            guard isReversed, !range.isEmpty else { return range }
            return (count - range.upperBound)..<(count - range.lowerBound)
        case .score(let min, let max):
            let lower = set.order.rank(of: set.order.firstCursor { score, _ in
                min.isExclusive ? score <= min.value : score < min.value
            })
            let upper = set.order.rank(of: set.order.firstCursor { score, _ in
                max.isExclusive ? score < max.value : score <= max.value
            })
            return lower..<Swift.max(lower, upper)
        case .lex(let min, let max):
            let lower = Self.lexRank(min, in: set, isUpper: false)
            let upper = Self.lexRank(max, in: set, isUpper: true)
            return lower..<Swift.max(lower, upper)
        }
    }

    /// The first rank not below `bound` (as a lower end) or above it (as an upper end, exclusive).
    private static func lexRank(_ bound: LexBound, in set: CollectionValue, isUpper: Bool) -> Int {
        switch bound {
        case .minimum: return 0
        case .maximum: return set.count
        case .member(let member, let isExclusive):
            // A lower end passes the members below it (and it, when exclusive); an upper end those up to it (but it,
            // when exclusive).
            let passesEqual = isUpper != isExclusive
            return set.order.rank(of: set.order.firstCursor { _, entry in
                let order = CollectionValue.compare(entry(), member)
                return order < 0 || (order == 0 && passesEqual)
            })
        }
    }

    /// The ranks `ranks` after LIMIT's `offset` and `count` (nil: no LIMIT; a negative count: all the rest), taken
    /// from the top when `isReversed`: the first rank to emit and how many, emitted downwards when reversed.
    static func limited(
        _ ranks: Range<Int>, offset: Int64, count: Int64?, isReversed: Bool
    ) -> (first: Int, count: Int) {
        var skipped = 0, taken = ranks.count
        if let count {
            guard offset >= 0 else { return (ranks.lowerBound, 0) }
            skipped = Int(Swift.min(offset, Int64(ranks.count)))
            taken = ranks.count - skipped
            if count >= 0 { taken = Int(Swift.min(Int64(taken), count)) }
        }
        return (isReversed ? ranks.upperBound - 1 - skipped : ranks.lowerBound + skipped, taken)
    }
}

extension CollectionValue {
    /// Calls `body` with each of `count` members and scores from rank `first`, downwards when `isReversed`.
    func forEachScored(from first: Int, count: Int, isReversed: Bool, _ body: (Scored) -> Void) {
        guard count > 0 else { return }
        var cursor = order.cursor(ofRank: first)
        for step in 0..<count {
            body(scored(at: cursor))
            guard step + 1 < count else { break }
            if isReversed {
                cursor = order.previous(cursor)!
            } else {
                cursor = order.next(cursor)
            }
        }
    }
}
