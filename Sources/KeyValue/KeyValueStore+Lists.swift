/// The list commands without blocking: pushes and pops at both ends, ranges, indexes, LINSERT, LREM, LTRIM, LPOS,
/// LMOVE and LMPOP.
///
/// A list is a `CollectionValue` holding a `ListValue`; indexes count from 0 at the head, negative ones from -1
/// at the tail, as in Redis.
extension KeyValueStore {
    mutating func executeList(_ command: DataCommand, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let key = arguments.key(at: 1)
        switch command {
        case .lpush, .rpush, .lpushx, .rpushx:
            if command == .lpushx || command == .rpushx, liveKind(key, clock: clock) == nil { return Replies.zero }
            let atHead = command == .lpush || command == .lpushx
            // The elements are copied out first: a closure capturing `arguments` copied all of it (about 90 bytes and
            // two retains) at each level of the update it passed through.
            let first = arguments[2]
            let rest = arguments.count > 3 ? (3..<arguments.count).map { arguments[$0] } : []
            let length = updateCollection(key, .list, clock: clock) { list in
                if atHead {
                    list.elements.pushFront(first)
                    for element in rest { list.elements.pushFront(element) }
                } else {
                    list.elements.pushBack(first)
                    for element in rest { list.elements.pushBack(element) }
                }
                return list.count
            }
            guard let length else { return Replies.wrongType }
            notify(.list, atHead ? "lpush" : "rpush", key)
            return RESPWriter.integer(Int64(length))
        case .lpop, .rpop: return pop(key, arguments, atHead: command == .lpop, clock: clock)
        case .lmpop: return popFromFirst(arguments, clock: clock)
        case .lset: return setElement(key, arguments, clock: clock)
        case .linsert: return insert(key, arguments, clock: clock)
        case .lrem: return removeElements(key, arguments, clock: clock)
        case .ltrim: return trim(key, arguments, clock: clock)
        case .lmove, .rpoplpush:
            var fromHead = false, toHead = true
            if command == .lmove {
                guard let from = Self.end(arguments.bytes(at: 3)), let to = Self.end(arguments.bytes(at: 4)) else {
                    return Replies.syntaxError
                }
                (fromHead, toHead) = (from, to)
            }
            return move(key, to: arguments.key(at: 2), fromHead: fromHead, toHead: toHead, clock: clock)
        default: return readList(command, key, arguments, clock: clock)
        }
    }

    /// The list commands that only read.
    private mutating func readList(
        _ command: DataCommand, _ key: StoreKey, _ arguments: CommandArguments, clock: Clock
    ) -> [UInt8] {
        if command == .lrange {
            guard let start = DecimalInteger.parse(arguments.bytes(at: 2)),
                let stop = DecimalInteger.parse(arguments.bytes(at: 3))
            else { return Replies.notInteger }
            guard case .found(let list) = liveCollection(key, .list, clock: clock) else {
                return liveKind(key, clock: clock) == nil ? Self.emptyArray : Replies.wrongType
            }
            let range = Self.range(start, stop, count: list.count)
            return RESPWriter.bulkArray(count: range.count) { list.elements.forEachElement(in: range, $0) }
        }
        if command == .lpos { return position(key, arguments, clock: clock) }
        let list: ListValue
        switch liveCollection(key, .list, clock: clock) {
        case .wrongType: return Replies.wrongType
        case .found(let collection): list = collection.elements
        case .missing: return command == .llen ? Replies.zero : Replies.nullBulk
        }
        switch command {
        case .llen: return RESPWriter.integer(Int64(list.count))
        case .lindex:
            guard let index = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
            guard let position = Self.position(index, count: list.count) else { return Replies.nullBulk }
            return RESPWriter.bulk(list[position])
        default: preconditionFailure("\(command) is not a list read")
        }
    }

    /// `LPOP`/`RPOP key [count]`: one element (or null), or with a count up to that many (or a null array).
    private mutating func pop(
        _ key: StoreKey, _ arguments: CommandArguments, atHead: Bool, clock: Clock
    ) -> [UInt8] {
        guard arguments.count <= 3 else { return Replies.wrongArity(atHead ? "lpop" : "rpop") }
        var count: Int64?
        if arguments.count == 3 {
            guard let parsed = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
            guard parsed >= 0 else { return Self.mustBePositive }
            count = parsed
        }
        guard let count else {
            // One element, LPOP's usual form: no array of them, and its reply written in one pass.
            let popped = updateCollection(key, .list, clock: clock) { list -> [UInt8]? in
                guard list.count > 0 else { return nil }
                return atHead ? list.elements.popFront() : list.elements.popBack()
            }
            guard let popped else { return Replies.wrongType }
            guard let popped else { return Replies.nullBulk }
            notify(.list, atHead ? "lpop" : "rpop", key)
            return RESPWriter.bulk(popped[...])
        }
        let popped = updateCollection(key, .list, clock: clock) { list -> [[UInt8]]? in
            guard list.count > 0 else { return nil }
            let taken = min(Int(count), list.count)
            return (0..<taken).map { _ in atHead ? list.elements.popFront() : list.elements.popBack() }
        }
        guard let popped else { return Replies.wrongType }
        guard let popped else { return Self.nullArray }
        if !popped.isEmpty { notify(.list, atHead ? "lpop" : "rpop", key) }
        return RESPWriter.array(popped.map(RESPWriter.bulk))
    }

    /// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`: from the first key holding a list, up to `count`
    /// elements (1 by default) as `[key, [elements]]`; a null array when none holds one.
    private mutating func popFromFirst(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        guard let keyCount = DecimalInteger.parse(arguments.bytes(at: 1)), keyCount >= 1 else {
            return RESPWriter.error("ERR numkeys should be greater than 0")
        }
        guard keyCount < arguments.count - 2 else { return Replies.syntaxError }
        let endPosition = 2 + Int(keyCount)
        guard let atHead = Self.end(arguments.bytes(at: endPosition)) else { return Replies.syntaxError }
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
            case .list: break
            default: return Replies.wrongType
            }
            let taken = min(count ?? 1, Int64(Int.max))
            let popped = updateCollection(key, .list, clock: clock) { list in
                (0..<min(Int(taken), list.count)).map { _ in atHead ? list.elements.popFront() : list.elements.popBack() }
            }
            notify(.list, atHead ? "lpop" : "rpop", key)
            var writer = RESPWriter()
            writer.appendArrayHeader(count: 2)
            writer.appendBulk(key.bytes)
            writer.appendEncoded(RESPWriter.array((popped ?? []).map(RESPWriter.bulk)))
            return writer.bytes
        }
        return Self.nullArray
    }

    /// `LSET key index element`: +OK, or an error for a missing key or an index outside the list.
    private mutating func setElement(_ key: StoreKey, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        switch liveKind(key, clock: clock) {
        case nil: return Self.noSuchKey
        case .list: break
        default: return Replies.wrongType
        }
        guard let index = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
        let reply = updateCollection(key, .list, clock: clock) { list -> [UInt8] in
            guard let position = Self.position(index, count: list.count) else { return Self.indexOutOfRange }
            list.elements.replace(at: position, with: arguments[3])
            return Replies.ok
        }
        if reply == Replies.ok { notify(.list, "lset", key) }
        return reply ?? Replies.wrongType
    }

    /// `LINSERT key BEFORE|AFTER pivot element`: the new length, -1 when the pivot is absent, 0 for a missing key.
    private mutating func insert(_ key: StoreKey, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let isAfter: Bool
        if ASCII.equals(arguments.bytes(at: 2), "after") {
            isAfter = true
        } else if ASCII.equals(arguments.bytes(at: 2), "before") {
            isAfter = false
        } else {
            return Replies.syntaxError
        }
        let pivot = arguments.bytes(at: 3)
        let length = updateCollection(key, .list, clock: clock) { list -> Int64 in
            guard list.count > 0 else { return 0 }
            guard let found = (0..<list.count).first(where: { list.elements[$0][...] == pivot }) else { return -1 }
            var elements = list.elements.elements(0..<list.count)
            elements.insert(arguments[4], at: isAfter ? found + 1 : found)
            list.elements = ListValue(elements)
            return Int64(list.count)
        }
        if let length, length > 0 { notify(.list, "linsert", key) }
        return length.map(RESPWriter.integer) ?? Replies.wrongType
    }

    /// `LREM key count element`: removes the first `count` matches from the head (from the tail for a negative
    /// count, all for 0) and answers how many it removed.
    private mutating func removeElements(_ key: StoreKey, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        guard let wanted = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
        let element = arguments.bytes(at: 3)
        let removed = updateCollection(key, .list, clock: clock) { list -> Int64 in
            let limit = wanted == 0 ? Int64.max : wanted.magnitude > UInt64(Int64.max) ? Int64.max : abs(wanted)
            var kept: [[UInt8]] = []
            var removed: Int64 = 0
            let positions = wanted < 0 ? Array((0..<list.count).reversed()) : Array(0..<list.count)
            for position in positions {
                if removed < limit && list.elements[position][...] == element {
                    removed += 1
                } else {
                    kept.append(list.elements[position])
                }
            }
            if removed > 0 { list.elements = ListValue(wanted < 0 ? kept.reversed() : kept) }
            return removed
        }
        if let removed, removed > 0 { notify(.list, "lrem", key) }
        return removed.map(RESPWriter.integer) ?? Replies.wrongType
    }

    /// `LTRIM key start stop`: keeps only the range, deleting the key when it is empty; +OK.
    private mutating func trim(_ key: StoreKey, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        guard let start = DecimalInteger.parse(arguments.bytes(at: 2)),
            let stop = DecimalInteger.parse(arguments.bytes(at: 3))
        else { return Replies.notInteger }
        let isList = liveKind(key, clock: clock) == .list
        let trimmed: Void? = updateCollection(key, .list, clock: clock) { list in
            let range = Self.range(start, stop, count: list.count)
            let tail = list.count - (range.isEmpty ? 0 : range.upperBound)
            for _ in 0..<(range.isEmpty ? list.count : range.lowerBound) { _ = list.elements.popFront() }
            for _ in 0..<(range.isEmpty ? 0 : tail) { _ = list.elements.popBack() }
        }
        guard trimmed != nil else { return Replies.wrongType }
        // Redis notifies a trim of an existing list even when it kept every element; a missing key has none.
        if isList { notify(.list, "ltrim", key) }
        return Replies.ok
    }

    /// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT` (and RPOPLPUSH): the element moved, or null.
    private mutating func move(
        _ source: StoreKey, to destination: StoreKey, fromHead: Bool, toHead: Bool, clock: Clock
    ) -> [UInt8] {
        switch liveKind(source, clock: clock) {
        case nil: return Replies.nullBulk
        case .list: break
        default: return Replies.wrongType
        }
        if let kind = liveKind(destination, clock: clock), kind != .list { return Replies.wrongType }
        guard let element = updateCollection(source, .list, clock: clock, { list in
            fromHead ? list.elements.popFront() : list.elements.popBack()
        }) else { return Replies.wrongType }
        _ = updateCollection(destination, .list, clock: clock) { list in
            if toHead { list.elements.pushFront(element) } else { list.elements.pushBack(element) }
        }
        notify(.list, toHead ? "lpush" : "rpush", destination)
        notify(.list, fromHead ? "lpop" : "rpop", source)
        return RESPWriter.bulk(element)
    }

    /// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`: the index of a match (or null), or with
    /// COUNT an array of up to that many (0: all).
    private mutating func position(_ key: StoreKey, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        var rank: Int64 = 1, count: Int64 = -1, scanLimit: Int64 = 0
        var position = 3
        while position < arguments.count {
            let option = arguments.bytes(at: position)
            guard position + 1 < arguments.count else { return Replies.syntaxError }
            let value = DecimalInteger.parse(arguments.bytes(at: position + 1))
            if ASCII.equals(option, "rank") {
                guard let value else { return Replies.notInteger }
                guard value != 0 else { return Self.rankZero }
                rank = value
            } else if ASCII.equals(option, "count") {
                guard let value, value >= 0 else { return RESPWriter.error("ERR COUNT can't be negative") }
                count = value
            } else if ASCII.equals(option, "maxlen") {
                guard let value, value >= 0 else { return RESPWriter.error("ERR MAXLEN can't be negative") }
                scanLimit = value
            } else {
                return Replies.syntaxError
            }
            position += 2
        }
        // Redis negates a negative rank; -LONG_MIN stays negative there, so it is refused here instead.
        guard rank != Int64.min else { return Self.outsideSignedRange }
        let list: ListValue
        switch liveCollection(key, .list, clock: clock) {
        case .wrongType: return Replies.wrongType
        case .missing: return count == -1 ? Replies.nullBulk : Self.emptyArray
        case .found(let collection): list = collection.elements
        }
        let element = arguments.bytes(at: 2)
        let fromTail = rank < 0
        var matches: [Int64] = []
        var seen: Int64 = 0
        var scanned: Int64 = 0
        for step in 0..<list.count {
            if scanLimit != 0 && scanned >= scanLimit { break }
            scanned += 1
            let index = fromTail ? list.count - 1 - step : step
            guard list[index][...] == element else { continue }
            seen += 1
            guard seen >= abs(rank) else { continue }
            matches.append(Int64(index))
            if count == -1 || (count != 0 && Int64(matches.count) >= count) { break }
        }
        guard count != -1 else { return matches.first.map(RESPWriter.integer) ?? Replies.nullBulk }
        var writer = RESPWriter()
        writer.appendArrayHeader(count: matches.count)
        for match in matches { writer.appendInteger(match) }
        return writer.bytes
    }

    /// Whether `bytes` say LEFT (true) or RIGHT (false); nil for anything else.
    private static func end(_ bytes: ArraySlice<UInt8>) -> Bool? {
        ASCII.equals(bytes, "left") ? true : ASCII.equals(bytes, "right") ? false : nil
    }

    /// The position an index names in a list of `count` elements (negative from the tail), nil when outside it.
    private static func position(_ index: Int64, count: Int) -> Int? {
        let position = index < 0 ? Int64(count) + index : index
        return position >= 0 && position < Int64(count) ? Int(position) : nil
    }

    /// The positions from `start` to `stop` inclusive (negative from the tail), clamped to the list, as LRANGE and
    /// LTRIM read them.
    static func range(_ start: Int64, _ stop: Int64, count: Int) -> Range<Int> {
        let length = Int64(count)
        var first = start < 0 ? length + start : start
        var last = stop < 0 ? length + stop : stop
        if first < 0 { first = 0 }
        guard first <= last, first < length else { return 0..<0 }
        if last >= length { last = length - 1 }
        return Int(first)..<Int(last + 1)
    }

    static let nullArray = Array("*-1\r\n".utf8)
    private static let mustBePositive = RESPWriter.error("ERR value is out of range, must be positive")
    private static let indexOutOfRange = RESPWriter.error("ERR index out of range")
    private static let rankZero = RESPWriter.error(
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            + "or use negative to start from the end of the list")
}
