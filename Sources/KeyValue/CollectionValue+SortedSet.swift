#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sorted set: `members` maps each member to its score (8 bytes, `Score.bytes`), which gives lookups, the digest,
/// the snapshot's member order and ZRANDMEMBER's positions exactly as for a hash; `order` keeps the same members by
/// score, then by member bytes (as Redis's skiplist orders them), for ranks and ranges.
///
/// Every change goes through `setScore` and `removeScored` below, which keep the two in step.
extension CollectionValue {
    /// A member with its score, viewing the set's storage.
    typealias Scored = (member: ArraySlice<UInt8>, score: Double)

    /// The score of `member`, nil when it is absent.
    func score(of member: ArraySlice<UInt8>) -> Double? {
        members.value(ofMember: member).map(Score.value)
    }

    /// The member and score at `cursor`, which must name an entry.
    func scored(at cursor: ScoreOrder.Cursor) -> Scored { (order.member(at: cursor), order.score(at: cursor)) }

    /// The first entry not before `(score, member)` in the order: where that pair is, or would go.
    func cursor(of score: Double, _ member: ArraySlice<UInt8>) -> ScoreOrder.Cursor {
        order.firstCursor { entryScore, entryMember in
            entryScore < score || (entryScore == score && Self.compare(entryMember(), member) < 0)
        }
    }

    /// The rank of `member` from the lowest score (or the highest when `isReversed`), nil when it is absent.
    func rank(of member: ArraySlice<UInt8>, isReversed: Bool) -> Int? {
        guard let score = score(of: member) else { return nil }
        let rank = order.rank(of: cursor(of: score, member))
        return isReversed ? count - 1 - rank : rank
    }

    /// Gives `member` `score`, adding it when absent; returns whether it was added. `-0` is stored as `0`, as
    /// Redis's compact encoding (which every small set has) stores it, so ZSCORE answers `0` as Redis does; only
    /// the unstored result of ZUNION or ZINTER, which Redis builds in its other encoding, keeps it
    /// (`keepsNegativeZero`).
    @discardableResult
    mutating func setScore(_ score: Double, of member: ArraySlice<UInt8>, keepsNegativeZero: Bool = false) -> Bool {
        precondition(!score.isNaN, "a NaN score")
        let score = score == 0 && !keepsNegativeZero ? 0 : score
        let old = self.score(of: member)
        if let old {
            guard old != score else { return false }
            order.remove(at: cursor(of: old, member))
        }
        members.storeMember(member, value: Score.bytes(score)[...])
        order.insert(score: score, member: member, at: cursor(of: score, member))
        return old == nil
    }

    /// Removes `member`; returns whether it was there.
    @discardableResult
    mutating func removeScored(_ member: ArraySlice<UInt8>) -> Bool {
        guard let score = score(of: member) else { return false }
        order.remove(at: cursor(of: score, member))
        members.removeMember(member)
        return true
    }

    /// Bytes compared as Redis's `sdscmp` does: `memcmp` over the shorter length, then the shorter first.
    static func compare(_ left: ArraySlice<UInt8>, _ right: ArraySlice<UInt8>) -> Int {
        let shared = min(left.count, right.count)
        let result = left.withUnsafeBufferPointer { leftBytes in
            right.withUnsafeBufferPointer { rightBytes in
                shared == 0 ? 0 : memcmp(leftBytes.baseAddress!, rightBytes.baseAddress!, shared)
            }
        }
        if result != 0 { return Int(result) }
        return left.count - right.count
    }

    /// Checks that every member has an 8-byte score and exactly one entry in the order, at its score, and that the
    /// order is sorted; for tests and debug builds.
    func checkSortedSetInvariants() {
        precondition(order.count == members.count, "a sorted set's order and members differ in size")
        order.checkInvariants { leftScore, leftMember, rightScore, rightMember in
            leftScore < rightScore || (leftScore == rightScore && Self.compare(leftMember, rightMember) < 0)
        }
        for member in members {
            precondition(member.value.count == 8, "a sorted set member's score is not 8 bytes")
            let score = Score.value(member.value)
            precondition(!score.isNaN, "a sorted set holds a NaN score")
            let cursor = cursor(of: score, member.field)
            precondition(
                order.isEntry(cursor) && order.member(at: cursor) == member.field && order.score(at: cursor) == score,
                "a sorted set member is missing from its order")
        }
    }
}
