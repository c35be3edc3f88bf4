import Replication

/// The string commands: SET and its relatives, GET, counters, APPEND, multi-key and keyspace commands.
extension KeyValueStore {
    /// `GET key`: the value, or null.
    mutating func get(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        switch liveValue(arguments.key(at: 1), clock: clock) {
        case .value(let value): RESPWriter.bulk(value)
        case .missing: Replies.nullBulk
        case .wrongType: Replies.wrongType
        }
    }

    /// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`: +OK, or null when NX/XX held it
    /// back, or with GET the old value (null if none) whether or not the write happened.
    mutating func set(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        var onlyIfAbsent = false, onlyIfPresent = false, returnsOld = false, keepsTTL = false
        // The expiry option and its argument, validated after the options, as Redis does.
        var expiryOption: (unit: ExpiryUnit, argument: ArraySlice<UInt8>)?
        var index = 3
        while index < arguments.count {
            let option = arguments.bytes(at: index)
            let hasArgument = index + 1 < arguments.count
            if ASCII.equals(option, "nx") && !onlyIfPresent {
                onlyIfAbsent = true
            } else if ASCII.equals(option, "xx") && !onlyIfAbsent {
                onlyIfPresent = true
            } else if ASCII.equals(option, "get") {
                returnsOld = true
            } else if ASCII.equals(option, "keepttl") && expiryOption == nil {
                keepsTTL = true
            } else if !keepsTTL && hasArgument, let unit = ExpiryUnit(option: option),
                expiryOption.map({ $0.unit == unit }) ?? true  // EX 1 EX 2 is fine (the last wins), EX 1 PX 2 is not
            {
                expiryOption = (unit, arguments.bytes(at: index + 1))
                index += 1
            } else {
                return Replies.syntaxError
            }
            index += 1
        }
        var expiresAt: Int64?
        if let expiryOption {
            switch Self.expiryTime(
                expiryOption.argument, unitMilliseconds: expiryOption.unit.milliseconds,
                isAbsolute: expiryOption.unit.isAbsolute, clock: clock)
            {
            case .success(let time): expiresAt = time
            case .failure(.notInteger): return Replies.notInteger
            case .failure(.invalid): return Replies.invalidExpireTime("set")
            }
        }
        let key = arguments.key(at: 1)
        var reply = Replies.ok
        var exists = false
        if returnsOld || onlyIfAbsent || onlyIfPresent {
            // Scoped: the old value views the shard, and must be let go before the write.
            switch liveValue(key, clock: clock) {
            case .value(let old):
                exists = true
                if returnsOld { reply = RESPWriter.bulk(old) }
            case .missing:
                if returnsOld { reply = Replies.nullBulk }
            case .wrongType:
                // SET overwrites a key of any kind, but GET cannot return a collection as the old value.
                if returnsOld { return Replies.wrongType }
                exists = true
            }
        }
        if (onlyIfAbsent && exists) || (onlyIfPresent && !exists) {
            return returnsOld ? reply : Replies.nullBulk
        }
        // KEEPTTL keeps the TTL of a live key only; an expired one is deleted first, so its TTL goes with it.
        if keepsTTL && isLive(key, clock: clock) { expiresAt = expiry(of: key) }
        store(arguments.bytes(at: 2), for: key, expiresAtMilliseconds: expiresAt)
        notify(.string, "set", key)
        if expiryOption != nil { notify(.generic, "expire", key) }
        return reply
    }

    /// `SETNX key value`: 1 when it set the key, 0 when the key existed.
    mutating func setIfAbsent(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let key = arguments.key(at: 1)
        if isLive(key, clock: clock) { return Replies.zero }
        store(arguments.bytes(at: 2), for: key, expiresAtMilliseconds: nil)
        notify(.string, "set", key)
        return Replies.one
    }

    /// `SETEX key seconds value` and `PSETEX key milliseconds value`.
    mutating func setWithExpiry(_ arguments: CommandArguments, unitMilliseconds: Int64, clock: Clock) -> [UInt8] {
        let expiry = arguments.bytes(at: 2)
        switch Self.expiryTime(expiry, unitMilliseconds: unitMilliseconds, isAbsolute: false, clock: clock) {
        case .success(let expiresAt):
            store(arguments.bytes(at: 3), for: arguments.key(at: 1), expiresAtMilliseconds: expiresAt)
            notify(.string, "set", arguments.key(at: 1))
            notify(.generic, "expire", arguments.key(at: 1))
            return Replies.ok
        case .failure(.notInteger): return Replies.notInteger
        case .failure(.invalid): return Replies.invalidExpireTime(unitMilliseconds == 1 ? "psetex" : "setex")
        }
    }

    /// `GETSET key value`: the old value (or null); the new value has no TTL.
    mutating func getSet(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let key = arguments.key(at: 1)
        // The reply is written before the write: the old value views the shard.
        let reply: [UInt8]
        switch liveValue(key, clock: clock) {
        case .value(let old): reply = RESPWriter.bulk(old)
        case .missing: reply = Replies.nullBulk
        case .wrongType: return Replies.wrongType
        }
        store(arguments.bytes(at: 2), for: key, expiresAtMilliseconds: nil)
        notify(.string, "set", key)
        return reply
    }

    /// `GETDEL key`: the value (or null), and the key is gone.
    mutating func getDelete(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let key = arguments.key(at: 1)
        let reply: [UInt8]
        switch liveValue(key, clock: clock) {
        case .value(let old): reply = RESPWriter.bulk(old)
        case .missing: return Replies.nullBulk
        case .wrongType: return Replies.wrongType
        }
        remove(key)
        notify(.generic, "del", key)
        return reply
    }

    /// `DEL key...`: how many of the keys existed.
    mutating func delete(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        var deleted: Int64 = 0
        for position in 1..<arguments.count {
            let key = arguments.key(at: position)
            if isLive(key, clock: clock) {
                remove(key)
                notify(.generic, "del", key)
                deleted += 1
            }
        }
        return RESPWriter.integer(deleted)
    }

    /// `EXISTS key...`: how many of the arguments name a key; a key named twice counts twice.
    mutating func exists(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        var found: Int64 = 0
        for position in 1..<arguments.count where isLive(arguments.key(at: position), clock: clock) { found += 1 }
        return RESPWriter.integer(found)
    }

    /// `TYPE key`: `string`, `hash`, `set` or `list`, or `none` for a missing key.
    mutating func type(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        liveKind(arguments.key(at: 1), clock: clock)?.typeReply ?? Self.noneType
    }

    /// `KEYS pattern`: the live keys matching the glob, in the store's (deterministic) key order.
    mutating func matchingKeys(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let patternBytes = arguments[1]
        let pattern = GlobPattern(patternBytes)
        let matchesAll = patternBytes == [UInt8(ascii: "*")]
        var matched: [ArraySlice<UInt8>] = []
        // Shard by shard, each in its key order: the same order on every replica. O(keys), as Redis's KEYS.
        for shard in shards {
            for position in 0..<shard.count {
                let key = shard.key(atPosition: position)
                guard matchesAll || pattern.matches(key.bytes) else { continue }
                // Expired keys are skipped, not deleted: deleting would reorder the shard under the loop.
                if let expiresAt = shard.expiry(atPosition: position), Self.milliseconds(clock()) > expiresAt {
                    continue
                }
                matched.append(key.bytes)
            }
        }
        var writer = RESPWriter()
        writer.appendArrayHeader(count: matched.count)
        for key in matched { writer.appendBulk(key) }
        return writer.bytes
    }

    /// `INCRBY key increment` and `DECRBY key decrement`.
    mutating func incrementBy(_ arguments: CommandArguments, isDecrement: Bool, clock: Clock) -> [UInt8] {
        guard let amount = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
        if isDecrement {
            guard amount != Int64.min else { return Replies.decrementOverflow }
            return incrementBy(arguments.key(at: 1), -amount, clock: clock)
        }
        return incrementBy(arguments.key(at: 1), amount, clock: clock)
    }

    /// Adds `amount` to the integer stored at `key` (0 if missing), keeping its TTL; INCR, DECR and the BY forms.
    mutating func incrementBy(_ key: StoreKey, _ amount: Int64, clock: Clock) -> [UInt8] {
        var current: Int64 = 0
        var exists = false
        switch liveValue(key, clock: clock) {
        case .value(let old):
            guard let parsed = DecimalInteger.parse(old) else { return Replies.notInteger }
            current = parsed
            exists = true
        case .missing: break
        case .wrongType: return Replies.wrongType
        }
        let (result, overflow) = current.addingReportingOverflow(amount)
        guard !overflow else { return Replies.overflow }
        if exists {
            replaceValue(DecimalInteger.text(result), for: key)
        } else {
            store(DecimalInteger.text(result)[...], for: key, expiresAtMilliseconds: nil)
        }
        notify(.string, "incrby", key)
        return RESPWriter.integer(result)
    }

    /// `APPEND key value`: the length after appending; creates the key if missing, keeps its TTL.
    mutating func append(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let key = arguments.key(at: 1)
        let suffix = arguments[2]
        switch liveKind(key, clock: clock) {
        case nil:
            store(suffix[...], for: key, expiresAtMilliseconds: nil)
            notify(.string, "append", key)
            return RESPWriter.integer(Int64(suffix.count))
        case .string: break
        default: return Replies.wrongType
        }
        guard valueCount(of: key) + suffix.count <= Self.valueBytesLimit else {
            return Replies.stringTooLong
        }
        let length = appendValue(suffix, for: key)
        notify(.string, "append", key)
        return RESPWriter.integer(Int64(length))
    }

    /// `STRLEN key`: the value's length in bytes, 0 for a missing key.
    mutating func stringLength(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let key = arguments.key(at: 1)
        switch liveKind(key, clock: clock) {
        case nil: return Replies.zero
        case .string: return RESPWriter.integer(Int64(valueCount(of: key)))
        default: return Replies.wrongType
        }
    }

    /// `MGET key...`: one bulk string or null per key, in order.
    mutating func multipleGet(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        var writer = RESPWriter()
        writer.appendArrayHeader(count: arguments.count - 1)
        for position in 1..<arguments.count {
            // A key of another kind reads as null here, as in Redis, rather than failing the whole MGET.
            if case .value(let value) = liveValue(arguments.key(at: position), clock: clock) {
                writer.appendBulk(value)
            } else {
                writer.appendNullBulk()
            }
        }
        return writer.bytes
    }

    /// `MSET key value...` (+OK) and `MSETNX key value...` (1, or 0 and nothing set if any key exists).
    mutating func multipleSet(_ arguments: CommandArguments, onlyIfNoneExist: Bool, clock: Clock) -> [UInt8] {
        guard arguments.count % 2 == 1 else { return Replies.wrongArity(onlyIfNoneExist ? "msetnx" : "mset") }
        if onlyIfNoneExist {
            for index in stride(from: 1, to: arguments.count, by: 2)
            where isLive(arguments.key(at: index), clock: clock) {
                return Replies.zero
            }
        }
        for index in stride(from: 1, to: arguments.count, by: 2) {
            store(arguments.bytes(at: index + 1), for: arguments.key(at: index), expiresAtMilliseconds: nil)
            notify(.string, "set", arguments.key(at: index))
        }
        return onlyIfNoneExist ? Replies.one : Replies.ok
    }

    private static let noneType = RESPWriter.simpleString("none")
}
