/// The sorted set commands: ZADD and ZINCRBY, ZREM, reads of members, pops and ZRANDMEMBER; ranges are in
/// `KeyValueStore+SortedSetRanges.swift`, the algebra (ZUNION and its relatives) in `+SortedSetAlgebra.swift`.
///
/// A sorted set is a `CollectionValue` of kind `.sortedSet` (`CollectionValue+SortedSet.swift`). Scores are read and
/// printed as Redis 7.0 does (`Score`), and every error is worded as Redis words it.
extension KeyValueStore {
    /// Executes a sorted set command; `random` is drawn only by ZRANDMEMBER, and only when it picks.
    mutating func executeSortedSet(
        _ command: DataCommand, _ arguments: CommandArguments, clock: Clock, random: Random
    ) -> [UInt8] {
        let key = arguments.key(at: 1)
        switch command {
        case .zadd, .zincrby: return addScores(key, arguments, isIncrement: command == .zincrby, clock: clock)
        case .zrem:
            let removed = updateCollection(key, .sortedSet, clock: clock) { set in
                var removed: Int64 = 0
                for position in 2..<arguments.count where set.removeScored(arguments.bytes(at: position)) {
                    removed += 1
                }
                return removed
            }
            if let removed, removed > 0 { notify(.sortedSet, "zrem", key) }
            return removed.map(RESPWriter.integer) ?? Replies.wrongType
        case .zpopmin, .zpopmax: return popExtremes(key, arguments, isMaximum: command == .zpopmax, clock: clock)
        case .zmpop: return popFromFirstScored(arguments, clock: clock)
        case .zrandmember: return randomScored(key, arguments, clock: clock, random: random)
        case .zrange, .zrangebyscore, .zrevrangebyscore, .zrangebylex, .zrevrangebylex, .zrevrange, .zrangestore:
            return scoredRange(command, arguments, clock: clock)
        case .zcount, .zlexcount: return countRange(command, key, arguments, clock: clock)
        case .zremrangebyrank, .zremrangebyscore, .zremrangebylex:
            return removeRange(command, key, arguments, clock: clock)
        case .zunion, .zinter, .zdiff, .zunionstore, .zinterstore, .zdiffstore, .zintercard:
            return combineScored(command, arguments, clock: clock)
        default: return readSortedSet(command, key, arguments, clock: clock)
        }
    }

    /// ZCARD, ZSCORE, ZMSCORE, ZRANK and ZREVRANK.
    private mutating func readSortedSet(
        _ command: DataCommand, _ key: StoreKey, _ arguments: CommandArguments, clock: Clock
    ) -> [UInt8] {
        let set: CollectionValue
        switch liveCollection(key, .sortedSet, clock: clock) {
        case .wrongType: return Replies.wrongType
        case .found(let collection): set = collection
        case .missing: set = CollectionValue(kind: .sortedSet)
        }
        switch command {
        case .zcard: return RESPWriter.integer(Int64(set.count))
        case .zscore:
            return set.score(of: arguments.bytes(at: 2)).map { RESPWriter.bulk(Score.text($0)) } ?? Replies.nullBulk
        case .zmscore:
            var writer = RESPWriter()
            writer.appendArrayHeader(count: arguments.count - 2)
            for position in 2..<arguments.count {
                if let score = set.score(of: arguments.bytes(at: position)) {
                    Score.append(score, to: &writer)
                } else {
                    writer.appendNullBulk()
                }
            }
            return writer.bytes
        case .zrank, .zrevrank:
            let rank = set.rank(of: arguments.bytes(at: 2), isReversed: command == .zrevrank)
            return rank.map { RESPWriter.integer(Int64($0)) } ?? Replies.nullBulk
        default: preconditionFailure("\(command) is not a sorted set read")
        }
    }

    /// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]` and `ZINCRBY key increment member`
    /// (Redis's `zaddGenericCommand`, which reads the options of both): every score is parsed before anything
    /// changes, so a bad one changes nothing.
    private mutating func addScores(
        _ key: StoreKey, _ arguments: CommandArguments, isIncrement: Bool, clock: Clock
    ) -> [UInt8] {
        var isIncrement = isIncrement
        var onlyNew = false, onlyExisting = false, onlyGreater = false, onlyLess = false, countsChanged = false
        var position = 2
        while position < arguments.count {
            let option = arguments.bytes(at: position)
            if ASCII.equals(option, "nx") {
                onlyNew = true
            } else if ASCII.equals(option, "xx") {
                onlyExisting = true
            } else if ASCII.equals(option, "ch") {
                countsChanged = true
            } else if ASCII.equals(option, "incr") {
                isIncrement = true
            } else if ASCII.equals(option, "gt") {
                onlyGreater = true
            } else if ASCII.equals(option, "lt") {
                onlyLess = true
            } else {
                break
            }
            position += 1
        }
        let pairCount = (arguments.count - position) / 2
        guard (arguments.count - position) % 2 == 0, pairCount > 0 else { return Replies.syntaxError }
        guard !(onlyNew && onlyExisting) else { return Self.newAndExisting }
        guard !(onlyNew && (onlyGreater || onlyLess)), !(onlyGreater && onlyLess) else { return Self.conditionsClash }
        guard !isIncrement || pairCount == 1 else { return Self.incrementPairs }
        var scores: [Double] = []
        for pair in 0..<pairCount {
            guard let score = Score.parse(arguments.bytes(at: position + 2 * pair)) else { return Self.notFloat }
            scores.append(score)
        }
        switch liveKind(key, clock: clock) {
        case nil where onlyExisting: return isIncrement ? Replies.nullBulk : Replies.zero
        case nil, .sortedSet: break
        default: return Replies.wrongType
        }
        typealias Outcome = (added: Int64, updated: Int64, last: Double?)
        let outcome = updateCollection(key, .sortedSet, clock: clock) { set -> Outcome? in
            var added: Int64 = 0, updated: Int64 = 0
            var last: Double?
            for pair in 0..<pairCount {
                let member = arguments.bytes(at: position + 2 * pair + 1)
                var score = scores[pair]
                guard let current = set.score(of: member) else {
                    if onlyExisting { continue }
                    set.setScore(score, of: member)
                    added += 1
                    last = score
                    continue
                }
                if onlyNew { continue }
                if isIncrement {
                    score += current
                    guard !score.isNaN else { return nil }
                }
                if (onlyLess && score >= current) || (onlyGreater && score <= current) { continue }
                last = score
                if score != current {
                    set.setScore(score, of: member)
                    updated += 1
                }
            }
            return (added, updated, last)
        }
        guard let outcome else { return Replies.wrongType }
        guard let outcome else { return Self.resultIsNaN }
        if outcome.added + outcome.updated > 0 { notify(.sortedSet, isIncrement ? "zincr" : "zadd", key) }
        if isIncrement { return outcome.last.map { RESPWriter.bulk(Score.text($0)) } ?? Replies.nullBulk }
        return RESPWriter.integer(countsChanged ? outcome.added + outcome.updated : outcome.added)
    }

    /// `ZPOPMIN`/`ZPOPMAX key [count]`: up to `count` (1 by default) lowest or highest members with their scores, as
    /// one flat array.
    private mutating func popExtremes(
        _ key: StoreKey, _ arguments: CommandArguments, isMaximum: Bool, clock: Clock
    ) -> [UInt8] {
        guard arguments.count <= 3 else { return Replies.syntaxError }
        var count: Int64 = 1
        if arguments.count == 3 {
            guard let parsed = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
            guard parsed >= 0 else { return Self.mustBePositive }
            count = parsed
        }
        switch liveKind(key, clock: clock) {
        case nil: return Self.emptyArray
        case .sortedSet: break
        default: return Replies.wrongType
        }
        guard count > 0 else { return Self.emptyArray }
        let popped = updateCollection(key, .sortedSet, clock: clock) { set in
            Self.pop(from: &set, count: count, isMaximum: isMaximum)
        }
        if let popped, !popped.isEmpty { notify(.sortedSet, isMaximum ? "zpopmax" : "zpopmin", key) }
        var writer = RESPWriter()
        writer.appendArrayHeader(count: 2 * (popped?.count ?? 0))
        for (member, score) in popped ?? [] {
            writer.appendBulk(member)
            Score.append(score, to: &writer)
        }
        return writer.bytes
    }

    /// Removes and returns up to `count` of the lowest (or highest) members of `set`, in that order.
    static func pop(from set: inout CollectionValue, count: Int64, isMaximum: Bool) -> [([UInt8], Double)] {
        var popped: [([UInt8], Double)] = []
        for _ in 0..<min(count, Int64(set.count)) {
            let cursor = isMaximum ? set.order.previous(set.order.end)! : set.order.cursor(ofRank: 0)
            let (member, score) = set.scored(at: cursor)
            let bytes = Array(member)
            popped.append((bytes, score))
            set.removeScored(bytes[...])
        }
        return popped
    }

    /// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`: from the first key holding a sorted set, up to `count`
    /// members (1 by default) as `[key, [[member, score], ...]]`; a null array when none holds one.
    private mutating func popFromFirstScored(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        guard let keyCount = DecimalInteger.parse(arguments.bytes(at: 1)), keyCount >= 1 else {
            return RESPWriter.error("ERR numkeys should be greater than 0")
        }
        guard keyCount < arguments.count - 2 else { return Replies.syntaxError }
        let endPosition = 2 + Int(keyCount)
        let isMaximum: Bool
        if ASCII.equals(arguments.bytes(at: endPosition), "min") {
            isMaximum = false
        } else if ASCII.equals(arguments.bytes(at: endPosition), "max") {
            isMaximum = true
        } else {
            return Replies.syntaxError
        }
        var count: Int64?
        var position = endPosition + 1
        while position < arguments.count {
            guard count == nil, ASCII.equals(arguments.bytes(at: position), "count"), position + 1 < arguments.count
            else { return Replies.syntaxError }
            guard let parsed = DecimalInteger.parse(arguments.bytes(at: position + 1)), parsed >= 1 else {
                return RESPWriter.error("ERR count should be greater than 0")
            }
            count = parsed
            position += 2
        }
        for keyPosition in 2..<endPosition {
            let key = arguments.key(at: keyPosition)
            switch liveKind(key, clock: clock) {
            case nil: continue
            case .sortedSet: break
            default: return Replies.wrongType
            }
            let popped = updateCollection(key, .sortedSet, clock: clock) { set in
                Self.pop(from: &set, count: count ?? 1, isMaximum: isMaximum)
            }
            if let popped, !popped.isEmpty { notify(.sortedSet, isMaximum ? "zpopmax" : "zpopmin", key) }
            var writer = RESPWriter()
            writer.appendArrayHeader(count: 2)
            writer.appendBulk(key.bytes)
            writer.appendArrayHeader(count: popped?.count ?? 0)
            for (member, score) in popped ?? [] {
                writer.appendArrayHeader(count: 2)
                writer.appendBulk(member)
                Score.append(score, to: &writer)
            }
            return writer.bytes
        }
        return Self.nullArray
    }

    /// `ZRANDMEMBER key [count [WITHSCORES]]`: as HRANDFIELD for a sorted set (members picked by their place in the
    /// set's map); draws one recorded random value when there is a pick.
    private mutating func randomScored(
        _ key: StoreKey, _ arguments: CommandArguments, clock: Clock, random: Random
    ) -> [UInt8] {
        var count: Int64?
        var withScores = false
        if arguments.count >= 3 {
            guard let parsed = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
            guard parsed != Int64.min else { return Self.outsideSignedRange }
            if arguments.count > 4 || (arguments.count == 4 && !ASCII.equals(arguments.bytes(at: 3), "withscores")) {
                return Replies.syntaxError
            }
            withScores = arguments.count == 4
            if withScores && (parsed < -Int64.max / 2 || parsed > Int64.max / 2) { return Self.outOfRange }
            count = parsed
        }
        let set: MemberTable
        switch liveCollection(key, .sortedSet, clock: clock) {
        case .wrongType: return Replies.wrongType
        case .missing: return count == nil ? Replies.nullBulk : Self.emptyArray
        case .found(let collection): set = collection.members
        }
        guard let count else { return RESPWriter.bulk(set.member(atPosition: Int(random() % UInt64(set.count))).field) }
        guard count != 0 else { return Self.emptyArray }
        guard count >= -Int64(Self.randomPicksLimit) else { return Self.tooManyPicks }
        let positions = Self.randomPositions(count: count, of: set.count, seed: random())
        var writer = RESPWriter()
        writer.appendArrayHeader(count: positions.count * (withScores ? 2 : 1))
        for position in positions {
            let member = set.member(atPosition: position)
            writer.appendBulk(member.field)
            if withScores { Score.append(Score.value(member.value), to: &writer) }
        }
        return writer.bytes
    }

    private static let newAndExisting = RESPWriter.error("ERR XX and NX options at the same time are not compatible")
    private static let conditionsClash = RESPWriter.error(
        "ERR GT, LT, and/or NX options at the same time are not compatible")
    private static let incrementPairs = RESPWriter.error("ERR INCR option supports a single increment-element pair")
    private static let resultIsNaN = RESPWriter.error("ERR resulting score is not a number (NaN)")
    private static let mustBePositive = RESPWriter.error("ERR value is out of range, must be positive")
}
