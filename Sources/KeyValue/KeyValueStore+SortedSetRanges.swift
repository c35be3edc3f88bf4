/// The sorted set commands that name a range (`SortedSetRange`): ZRANGE in all its spellings and ZRANGESTORE,
/// ZCOUNT and ZLEXCOUNT, and ZREMRANGEBYRANK, BYSCORE and BYLEX.
extension KeyValueStore {
    /// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`, its older spellings
    /// (ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX) and `ZRANGESTORE dst src ...`: Redis's
    /// `zrangeGenericCommand`, which reads the options, then the range, then the key.
    mutating func scoredRange(_ command: DataCommand, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        enum Kind { case rank, score, lex }
        let isStore = command == .zrangestore
        let sourcePosition = isStore ? 2 : 1
        var kind: Kind?
        var isReversed: Bool?
        switch command {
        case .zrevrange: (kind, isReversed) = (.rank, true)
        case .zrangebyscore, .zrevrangebyscore: (kind, isReversed) = (.score, command == .zrevrangebyscore)
        case .zrangebylex, .zrevrangebylex: (kind, isReversed) = (.lex, command == .zrevrangebylex)
        default: break
        }
        var withScores = false
        var limit: (offset: Int64, count: Int64)?
        var position = sourcePosition + 3
        while position < arguments.count {
            let option = arguments.bytes(at: position)
            if !isStore && ASCII.equals(option, "withscores") {
                withScores = true
            } else if ASCII.equals(option, "limit") && arguments.count - position - 1 >= 2 {
                guard let offset = DecimalInteger.parse(arguments.bytes(at: position + 1)),
                    let count = DecimalInteger.parse(arguments.bytes(at: position + 2))
                else { return Replies.notInteger }
                limit = (offset, count)
                position += 2
            } else if isReversed == nil && ASCII.equals(option, "rev") {
                isReversed = true
            } else if kind == nil && ASCII.equals(option, "bylex") {
                kind = .lex
            } else if kind == nil && ASCII.equals(option, "byscore") {
                kind = .score
            } else {
                return Replies.syntaxError
            }
            position += 1
        }
        let reversed = isReversed ?? false
        // Redis checks for a LIMIT by its count, -1 by default: `LIMIT offset -1` passes with a rank range (which
        // ignores it), and with a score or lex range still skips `offset`.
        if let limit, limit.count != -1, (kind ?? .rank) == .rank {
            return RESPWriter.error(
                "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        }
        if withScores && kind == .lex {
            return RESPWriter.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        }
        // A reversed score or lex range is given as max, then min.
        var (low, high) = (arguments.bytes(at: sourcePosition + 1), arguments.bytes(at: sourcePosition + 2))
        if reversed && kind != nil && kind != .rank { swap(&low, &high) }
        let range: SortedSetRange
        switch kind ?? .rank {
        case .rank:
            guard let start = DecimalInteger.parse(low), let stop = DecimalInteger.parse(high) else {
                return Replies.notInteger
            }
            range = .rank(start: start, stop: stop)
        case .score:
            guard let parsed = SortedSetRange.score(low, high) else { return Self.scoreRangeInvalid }
            range = parsed
        case .lex:
            guard let parsed = SortedSetRange.lex(low, high) else { return Self.lexRangeInvalid }
            range = parsed
        }
        let source: CollectionValue
        switch liveCollection(arguments.key(at: sourcePosition), .sortedSet, clock: clock) {
        case .wrongType: return Replies.wrongType
        case .missing where !isStore: return Self.emptyArray
        case .missing: source = CollectionValue(kind: .sortedSet)
        case .found(let collection): source = collection
        }
        let ranks = range.ranks(in: source, isReversed: reversed)
        let isRanked = (kind ?? .rank) == .rank
        let (first, count) = SortedSetRange.limited(
            ranks, offset: isRanked ? 0 : limit?.offset ?? 0, count: isRanked ? nil : limit?.count,
            isReversed: reversed)
        if isStore {
            var stored = CollectionValue(kind: .sortedSet)
            source.forEachScored(from: first, count: count, isReversed: reversed) { stored.setScore($1, of: $0) }
            let existed = replace(arguments.key(at: 1), with: stored)
            if stored.count > 0 {
                notify(.sortedSet, "zrangestore", arguments.key(at: 1))
            } else if existed {
                notify(.generic, "del", arguments.key(at: 1))
            }
            return RESPWriter.integer(Int64(stored.count))
        }
        var writer = RESPWriter()
        writer.appendArrayHeader(count: count * (withScores ? 2 : 1))
        source.forEachScored(from: first, count: count, isReversed: reversed) { member, score in
            writer.appendBulk(member)
            if withScores { Score.append(score, to: &writer) }
        }
        return writer.bytes
    }

    /// `ZCOUNT key min max` and `ZLEXCOUNT key min max`: how many members the score or lex range holds.
    mutating func countRange(
        _ command: DataCommand, _ key: StoreKey, _ arguments: CommandArguments, clock: Clock
    ) -> [UInt8] {
        let range =
            command == .zcount
            ? SortedSetRange.score(arguments.bytes(at: 2), arguments.bytes(at: 3))
            : SortedSetRange.lex(arguments.bytes(at: 2), arguments.bytes(at: 3))
        guard let range else { return command == .zcount ? Self.scoreRangeInvalid : Self.lexRangeInvalid }
        switch liveCollection(key, .sortedSet, clock: clock) {
        case .wrongType: return Replies.wrongType
        case .missing: return Replies.zero
        case .found(let set): return RESPWriter.integer(Int64(range.ranks(in: set).count))
        }
    }

    /// `ZREMRANGEBYRANK key start stop`, `ZREMRANGEBYSCORE key min max`, `ZREMRANGEBYLEX key min max`: removes the
    /// range's members and answers how many.
    mutating func removeRange(
        _ command: DataCommand, _ key: StoreKey, _ arguments: CommandArguments, clock: Clock
    ) -> [UInt8] {
        let range: SortedSetRange
        switch command {
        case .zremrangebyrank:
            guard let start = DecimalInteger.parse(arguments.bytes(at: 2)),
                let stop = DecimalInteger.parse(arguments.bytes(at: 3))
            else { return Replies.notInteger }
            range = .rank(start: start, stop: stop)
        case .zremrangebyscore:
            guard let parsed = SortedSetRange.score(arguments.bytes(at: 2), arguments.bytes(at: 3)) else {
                return Self.scoreRangeInvalid
            }
            range = parsed
        default:
            guard let parsed = SortedSetRange.lex(arguments.bytes(at: 2), arguments.bytes(at: 3)) else {
                return Self.lexRangeInvalid
            }
            range = parsed
        }
        switch liveKind(key, clock: clock) {
        case nil: return Replies.zero
        case .sortedSet: break
        default: return Replies.wrongType
        }
        let removed = updateCollection(key, .sortedSet, clock: clock) { set -> Int in
            let ranks = range.ranks(in: set)
            if ranks.count == set.count {
                set = CollectionValue(kind: .sortedSet)  // all of it: the key goes, without removing one by one
                return ranks.count
            }
            var members: [[UInt8]] = []
            members.reserveCapacity(ranks.count)
            set.forEachScored(from: ranks.lowerBound, count: ranks.count, isReversed: false) {
                members.append(Array($0.member))
            }
            for member in members { set.removeScored(member[...]) }
            return ranks.count
        }
        if let removed, removed > 0 {
            let event: StaticString =
                command == .zremrangebyrank ? "zremrangebyrank"
                : command == .zremrangebyscore ? "zremrangebyscore" : "zremrangebylex"
            notify(.sortedSet, event, key)
        }
        return RESPWriter.integer(Int64(removed ?? 0))
    }

    static let scoreRangeInvalid = RESPWriter.error("ERR min or max is not a float")
    static let lexRangeInvalid = RESPWriter.error("ERR min or max not valid string range item")
}
