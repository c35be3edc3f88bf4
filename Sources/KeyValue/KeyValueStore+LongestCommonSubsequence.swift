/// `LCS`: the longest common subsequence of two string values, as Redis 7.0's `lcsCommand` finds and reports it.
///
/// The classic dynamic programme: a table of `(alen + 1) × (blen + 1)` 32-bit lengths, cell `(i, j)` holding the
/// length of the LCS of the first `i` bytes of one value and the first `j` of the other; then one walk back from the
/// far corner that collects the subsequence and the ranges where the two values match. Where a byte differs and both
/// neighbours hold the same length, the walk steps back in the second value, as Redis's does: either choice finds a
/// subsequence as long, but only Redis's gives Redis's subsequence and match ranges, which clients compare.
extension KeyValueStore {
    /// Largest LCS table, in bytes, a command may build: 64 MiB, 16 Mi cells (two values of 4,095 bytes each).
    ///
    /// The table is built and walked on the event loop in one step that cannot yield, so its size bounds both the
    /// memory one command holds and the time it keeps every other client waiting (a pass over the cells, and a walk
    /// back across them). Redis's bound is `proto-max-bulk-len`, 512 MiB: eight times the cells, and eight times as
    /// long a stall, while the peer counts the silence towards presuming this node dead. A table above this bound is
    /// refused with the error Redis gives above its own.
    static let lcsTableBytesLimit = 64 << 20

    /// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]`: the subsequence as a bulk string; with LEN its
    /// length; with IDX `matches` (each `[[start1, end1], [start2, end2]]`, inclusive, last match first, with its
    /// length under WITHMATCHLEN, those shorter than MINMATCHLEN left out) and `len`. A missing key reads as empty.
    ///
    /// Checked in Redis's order: the keys' kinds, the options one by one, LEN with IDX, then the table's size.
    mutating func longestCommonSubsequence(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let firstKey = arguments.key(at: 1), secondKey = arguments.key(at: 2)
        // Both keys are looked up, an expired one deleted, before either's kind is judged, as Redis does; deleting
        // first means no write follows while the values view their shards (it would copy the shard).
        _ = isLive(firstKey, clock: clock)
        _ = isLive(secondKey, clock: clock)
        guard let first = stringOrEmpty(firstKey, clock: clock), let second = stringOrEmpty(secondKey, clock: clock)
        else { return Self.keysMustBeStrings }
        var wantsLength = false, wantsIndexes = false, wantsMatchLength = false
        var minimumMatchLength: Int64 = 0
        var index = 3
        while index < arguments.count {
            let option = arguments.bytes(at: index)
            if ASCII.equals(option, "idx") {
                wantsIndexes = true
            } else if ASCII.equals(option, "len") {
                wantsLength = true
            } else if ASCII.equals(option, "withmatchlen") {
                wantsMatchLength = true
            } else if ASCII.equals(option, "minmatchlen") && index + 1 < arguments.count {
                guard let length = DecimalInteger.parse(arguments.bytes(at: index + 1)) else {
                    return Replies.notInteger
                }
                minimumMatchLength = max(length, 0)
                index += 1
            } else {
                return Replies.syntaxError
            }
            index += 1
        }
        if wantsLength && wantsIndexes { return Self.lengthWithIndexes }
        // Each length is at most `valueBytesLimit`, so the product cannot overflow.
        let tableBytes = (first.count + 1) * (second.count + 1) * MemoryLayout<UInt32>.size
        guard tableBytes <= Self.lcsTableBytesLimit else { return Self.lcsTableTooLarge }
        let table = Self.lcsTable(first, second)
        let length = table[table.count - 1]
        if wantsLength { return RESPWriter.integer(Int64(length)) }
        let (subsequence, matches) = Self.lcsWalk(table, first, second)
        guard wantsIndexes else { return RESPWriter.bulk(subsequence) }
        var writer = RESPWriter()
        writer.appendArrayHeader(count: 4)
        writer.appendBulk("matches")
        let kept = matches.filter { $0.length >= minimumMatchLength }
        writer.appendArrayHeader(count: kept.count)
        for match in kept {
            writer.appendArrayHeader(count: wantsMatchLength ? 3 : 2)
            writer.appendArrayHeader(count: 2)
            writer.appendInteger(Int64(match.first.lowerBound))
            writer.appendInteger(Int64(match.first.upperBound - 1))
            writer.appendArrayHeader(count: 2)
            writer.appendInteger(Int64(match.second.lowerBound))
            writer.appendInteger(Int64(match.second.upperBound - 1))
            if wantsMatchLength { writer.appendInteger(Int64(match.length)) }
        }
        writer.appendBulk("len")
        writer.appendInteger(Int64(length))
        return writer.bytes
    }

    /// One stretch where the two values match byte for byte: the same length in each.
    struct LCSMatch: Equatable {
        var first: Range<Int>, second: Range<Int>
        var length: Int { first.count }
    }

    /// The string value of `key`, empty when it is missing; nil when it holds another kind.
    private mutating func stringOrEmpty(_ key: StoreKey, clock: Clock) -> ArraySlice<UInt8>? {
        switch liveValue(key, clock: clock) {
        case .value(let value): value
        case .missing: []
        case .wrongType: nil
        }
    }

    /// The LCS lengths of every pair of prefixes, row `i` (of `second.count + 1` cells) for the first `i` bytes of
    /// `first`; the last cell is the LCS's length.
    static func lcsTable(_ first: ArraySlice<UInt8>, _ second: ArraySlice<UInt8>) -> [UInt32] {
        let width = second.count + 1
        var table = [UInt32](repeating: 0, count: (first.count + 1) * width)
        // Buffers rather than arrays: this loop is the whole command's cost, and its indexes are in range by
        // construction (checked in debug builds all the same).
        first.withUnsafeBufferPointer { first in
            second.withUnsafeBufferPointer { second in
                table.withUnsafeMutableBufferPointer { cells in
                    for row in 0..<first.count {
                        let above = row * width, here = above + width
                        let byte = first[row]
                        for column in 0..<second.count {
                            cells[here + column + 1] =
                                byte == second[column]
                                ? cells[above + column] + 1
                                : max(cells[above + column + 1], cells[here + column])
                        }
                    }
                }
            }
        }
        return table
    }

    /// The subsequence `table` finds, and its matching stretches from the last to the first: the walk back from the
    /// table's far corner, taking a common byte where there is one, else stepping towards the longer neighbour, back
    /// in `second` when they are equal (Redis's choice).
    static func lcsWalk(
        _ table: [UInt32], _ first: ArraySlice<UInt8>, _ second: ArraySlice<UInt8>
    ) -> (subsequence: [UInt8], matches: [LCSMatch]) {
        let width = second.count + 1
        var subsequence = [UInt8](repeating: 0, count: Int(table[table.count - 1]))
        var filled = subsequence.count
        var matches: [LCSMatch] = []
        // The ends (exclusive) of the stretch being walked, which begins where the walk now is; nil between stretches.
        var stretchEnds: (first: Int, second: Int)?
        var row = first.count, column = second.count
        while row > 0 && column > 0 {
            let byte = first[first.startIndex + row - 1]
            if byte == second[second.startIndex + column - 1] {
                filled -= 1
                subsequence[filled] = byte
                if stretchEnds == nil { stretchEnds = (row, column) }
                row -= 1
                column -= 1
            } else {
                if let ends = stretchEnds {
                    matches.append(LCSMatch(first: row..<ends.first, second: column..<ends.second))
                    stretchEnds = nil
                }
                if table[(row - 1) * width + column] > table[row * width + column - 1] {
                    row -= 1
                } else {
                    column -= 1
                }
            }
        }
        if let ends = stretchEnds { matches.append(LCSMatch(first: row..<ends.first, second: column..<ends.second)) }
        precondition(filled == 0, "the walk took fewer common bytes than the table counts")
        return (subsequence, matches)
    }

    private static let keysMustBeStrings = RESPWriter.error("ERR The specified keys must contain string values")
    private static let lengthWithIndexes = RESPWriter.error(
        "ERR If you want both the length and indexes, please just use IDX.")
    private static let lcsTableTooLarge = RESPWriter.error(
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
}
