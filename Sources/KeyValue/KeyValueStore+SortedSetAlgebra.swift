/// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD: Redis's `zunionInterDiffGenericCommand`.
///
/// An input may be a sorted set or a plain set (every member scoring 1), as in Redis. Union and intersection take
/// the inputs from the smallest up, as Redis does, so a sum of three or more scores is added in Redis's order.
extension KeyValueStore {
    /// One input: its members and scores, in the set's order (by score for a sorted set, the map's for a set).
    private enum ScoredSource {
        case missing
        case set(MemberTable)
        case sortedSet(CollectionValue)

        var count: Int {
            switch self {
            case .missing: 0
            case .set(let members): members.count
            case .sortedSet(let set): set.count
            }
        }

        /// The score of `member`, nil when absent.
        func score(of member: ArraySlice<UInt8>) -> Double? {
            switch self {
            case .missing: nil
            case .set(let members): members.contains(member: member) ? 1 : nil
            case .sortedSet(let set): set.score(of: member)
            }
        }

        /// Calls `body` with every member and score, in order.
        func forEach(_ body: (ArraySlice<UInt8>, Double) -> Void) {
            switch self {
            case .missing: break
            case .set(let members):
                for (member, _) in members { body(member, 1) }
            case .sortedSet(let set): set.forEachScored(from: 0, count: set.count, isReversed: false) { body($0, $1) }
            }
        }
    }

    private enum Aggregate { case sum, min, max }

    /// `ZUNION|ZINTER|ZDIFF numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`, the STORE
    /// forms with a destination first (no WITHSCORES), and `ZINTERCARD numkeys key [key ...] [LIMIT limit]`.
    mutating func combineScored(_ command: DataCommand, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let isStore = command == .zunionstore || command == .zinterstore || command == .zdiffstore
        let isCardinality = command == .zintercard
        let isDifference = command == .zdiff || command == .zdiffstore
        let isUnion = command == .zunion || command == .zunionstore
        let countPosition = isStore ? 2 : 1
        guard let keyCount = DecimalInteger.parse(arguments.bytes(at: countPosition)) else { return Replies.notInteger }
        guard keyCount >= 1 else {
            return RESPWriter.error("ERR at least 1 input key is needed for '\(command.rawValue)' command")
        }
        guard keyCount <= arguments.count - countPosition - 1 else { return Replies.syntaxError }
        var sources: [ScoredSource] = []
        var weights: [Double] = []
        var position = countPosition + 1
        for _ in 0..<keyCount {
            let key = arguments.key(at: position)
            switch liveKind(key, clock: clock) {
            case nil: sources.append(.missing)
            case .set:
                guard case .found(let set) = liveCollection(key, .set, clock: clock) else {
                    preconditionFailure("a live set vanished")
                }
                sources.append(.set(set.members))
            case .sortedSet:
                guard case .found(let set) = liveCollection(key, .sortedSet, clock: clock) else {
                    preconditionFailure("a live sorted set vanished")
                }
                sources.append(.sortedSet(set))
            default: return Replies.wrongType
            }
            weights.append(1)
            position += 1
        }
        var aggregate = Aggregate.sum
        var withScores = false
        var limit: Int64 = 0
        while position < arguments.count {
            let option = arguments.bytes(at: position)
            let remaining = arguments.count - position
            if !isDifference && !isCardinality && remaining >= sources.count + 1 && ASCII.equals(option, "weights") {
                for index in sources.indices {
                    guard let weight = Score.parse(arguments.bytes(at: position + 1 + index)) else {
                        return RESPWriter.error("ERR weight value is not a float")
                    }
                    weights[index] = weight
                }
                position += 1 + sources.count
            } else if !isDifference && !isCardinality && remaining >= 2 && ASCII.equals(option, "aggregate") {
                let name = arguments.bytes(at: position + 1)
                if ASCII.equals(name, "sum") {
                    aggregate = .sum
                } else if ASCII.equals(name, "min") {
                    aggregate = .min
                } else if ASCII.equals(name, "max") {
                    aggregate = .max
                } else {
                    return Replies.syntaxError
                }
                position += 2
            } else if !isStore && !isCardinality && ASCII.equals(option, "withscores") {
                withScores = true
                position += 1
            } else if isCardinality && remaining >= 2 && ASCII.equals(option, "limit") {
                guard let parsed = DecimalInteger.parse(arguments.bytes(at: position + 1)), parsed >= 0 else {
                    return RESPWriter.error("ERR LIMIT can't be negative")
                }
                limit = parsed
                position += 2
            } else {
                return Replies.syntaxError
            }
        }
        var inputs = Array(zip(sources, weights))
        if !isDifference { inputs.sort { $0.0.count < $1.0.count } }  // stable: equal sizes keep the key order
        var result = CollectionValue(kind: .sortedSet)
        if isDifference {
            Self.difference(inputs.map(\.0), into: &result)
        } else if isUnion {
            Self.union(inputs, aggregate, into: &result, keepsNegativeZero: !isStore)
        } else {
            let count = Self.intersection(
                inputs, aggregate, into: &result, countingUpTo: isCardinality ? limit : nil,
                keepsNegativeZero: !isStore)
            if isCardinality { return RESPWriter.integer(count) }
        }
        if isStore {
            let existed = replace(arguments.key(at: 1), with: result)
            if result.count > 0 {
                let event: StaticString =
                    command == .zunionstore ? "zunionstore" : command == .zinterstore ? "zinterstore" : "zdiffstore"
                notify(.sortedSet, event, arguments.key(at: 1))
            } else if existed {
                notify(.generic, "del", arguments.key(at: 1))
            }
            return RESPWriter.integer(Int64(result.count))
        }
        var writer = RESPWriter()
        writer.appendArrayHeader(count: result.count * (withScores ? 2 : 1))
        result.forEachScored(from: 0, count: result.count, isReversed: false) { member, score in
            writer.appendBulk(member)
            if withScores { Score.append(score, to: &writer) }
        }
        return writer.bytes
    }

    /// `target` combined with `value` by `aggregate`; a sum of opposite infinities is 0, as in Redis.
    private static func combined(_ target: Double, _ value: Double, _ aggregate: Aggregate) -> Double {
        switch aggregate {
        case .sum:
            let sum = target + value
            return sum.isNaN ? 0 : sum
        case .min: return value < target ? value : target
        case .max: return value > target ? value : target
        }
    }

    /// A weighted score; a NaN product (0 times infinity) counts as 0, as in Redis.
    private static func weighted(_ score: Double, _ weight: Double) -> Double {
        let product = score * weight
        return product.isNaN ? 0 : product
    }

    private static func union(
        _ inputs: [(ScoredSource, Double)], _ aggregate: Aggregate, into result: inout CollectionValue,
        keepsNegativeZero: Bool
    ) {
        for (source, weight) in inputs {
            source.forEach { member, score in
                let value = weighted(score, weight)
                let current = result.score(of: member)
                result.setScore(
                    current.map { combined($0, value, aggregate) } ?? value, of: member,
                    keepsNegativeZero: keepsNegativeZero)
            }
        }
    }

    /// Fills `result` with the members of every input (or, with `countingUpTo`, only counts them, stopping at that
    /// many unless it is 0) and returns how many there are.
    private static func intersection(
        _ inputs: [(ScoredSource, Double)], _ aggregate: Aggregate, into result: inout CollectionValue,
        countingUpTo limit: Int64?, keepsNegativeZero: Bool
    ) -> Int64 {
        guard let (smallest, firstWeight) = inputs.first, smallest.count > 0 else { return 0 }
        var found: Int64 = 0
        var isDone = false
        smallest.forEach { member, score in
            guard !isDone else { return }
            var total = weighted(score, firstWeight)
            for (source, weight) in inputs.dropFirst() {
                guard let other = source.score(of: member) else { return }
                // Redis multiplies here without the NaN check its first score gets.
                total = combined(total, other * weight, aggregate)
            }
            found += 1
            if let limit {
                if limit > 0 && found >= limit { isDone = true }
            } else {
                result.setScore(total, of: member, keepsNegativeZero: keepsNegativeZero)
            }
        }
        return found
    }

    private static func difference(_ sources: [ScoredSource], into result: inout CollectionValue) {
        guard let first = sources.first else { return }
        let others = sources.dropFirst()
        first.forEach { member, score in
            if !others.contains(where: { $0.score(of: member) != nil }) { result.setScore(score, of: member) }
        }
    }
}
