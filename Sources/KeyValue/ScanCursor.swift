/// A SCAN cursor: a position in the reverse-binary order of hash classes, as Redis's `dictScan` uses, over the
/// linear-hashing shards of the store and of a collection's members (`KeyValueStore+Scan`, `MemberTable`).
///
/// A cursor names the hash class of its low `bits` bits, where `bits` is the resolution of the table that answers the
/// call (a shard covers the hashes equal to its index modulo `2^level` or `2^(level+1)`). Calls visit classes in
/// increasing order of their bit-reversed cursor, so what a finished call has covered is every hash whose reversal is
/// below the next cursor's, whatever the resolution: a table that splits, merges, grows or shrinks between calls, or
/// that a restored backup laid out differently, still covers the rest of the hash space from there on. Every element
/// present from the first call to the last is therefore returned at least once (a coarser table may return some
/// twice), and 0 ends the iteration.
/// The cursor depends on hashes alone (`ShardHash`, the same in every process), never on node-local state.
enum ScanCursor {
    /// The cursor after visiting the class of `cursor` at a resolution of `bits` bits; 0 when that was the last.
    static func advanced(_ cursor: UInt64, bits: Int) -> UInt64 {
        precondition(bits >= 0 && bits < 64, "a scan resolution of \(bits) bits")
        // Setting the bits above the class makes the increment of the reversal carry into the next class.
        let mask: UInt64 = (1 << UInt64(bits)) &- 1
        return reversed(reversed(cursor | ~mask) &+ 1)
    }

    /// Visits the classes from `cursor` on, one `visit` each (which collects the class and returns its resolution in
    /// bits), until the walk wraps to 0, `visitsLimit` classes were visited, or `hasEnough()`; returns the cursor to
    /// continue from. At least one class is visited.
    static func walk(
        from cursor: UInt64, visitsLimit: Int, until hasEnough: () -> Bool, _ visit: (UInt64) -> Int
    ) -> UInt64 {
        var cursor = cursor
        var visits = 0
        repeat {
            cursor = advanced(cursor, bits: visit(cursor))
            visits += 1
        } while cursor != 0 && visits < visitsLimit && !hasEnough()
        return cursor
    }

    /// `value` with its bit order reversed.
    static func reversed(_ value: UInt64) -> UInt64 {
        var value = value
        value = (value >> 1) & 0x5555_5555_5555_5555 | (value & 0x5555_5555_5555_5555) << 1
        value = (value >> 2) & 0x3333_3333_3333_3333 | (value & 0x3333_3333_3333_3333) << 2
        value = (value >> 4) & 0x0F0F_0F0F_0F0F_0F0F | (value & 0x0F0F_0F0F_0F0F_0F0F) << 4
        return value.byteSwapped
    }

    /// The cursor `bytes` spell, read as Redis reads one (C's `strtoul` in base 10): optional sign and decimal
    /// digits, a minus wrapping modulo 2^64, the empty string meaning 0; nil for leading space, any other byte, a sign
    /// alone or a value above 2^64 - 1 (Redis's "invalid cursor").
    static func parse(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        guard let first = bytes.first else { return 0 }
        var index = bytes.startIndex
        var isNegative = false
        if first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            isNegative = first == UInt8(ascii: "-")
            index += 1
        }
        guard index < bytes.endIndex else { return nil }
        var value: UInt64 = 0
        while index < bytes.endIndex {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1 && !overflow2 else { return nil }
            value = sum
            index += 1
        }
        return isNegative ? 0 &- value : value
    }

    /// The reply's first element: the cursor in decimal, as a bulk string.
    static func text(_ cursor: UInt64) -> [UInt8] { Array(String(cursor).utf8) }
}
