/// The string commands that read or write part of a value, or change a value's TTL or number as they read it: GETEX,
/// GETRANGE (and its old name SUBSTR), SETRANGE and INCRBYFLOAT; and the dispatch of these, the bit commands, LCS and
/// the key commands, which `execute` hands over in one case so that its own switch stays small.
extension KeyValueStore {
    /// Executes one of the commands of this file, `KeyValueStore+Bits`, `KeyValueStore+BitOperations`,
    /// `KeyValueStore+LongestCommonSubsequence`, `KeyValueStore+KeyCommands`, `KeyValueStore+Object`, `KeyValueStore+Memory` or
    /// `KeyValueStore+Dump`.
    mutating func executeStringOrKey(_ command: DataCommand, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        switch command {
        case .getex: getWithExpiry(arguments, clock: clock)
        case .getrange, .substr: getRange(arguments, clock: clock)
        case .setrange: setRange(arguments, clock: clock)
        case .incrbyfloat: incrementByFloat(arguments, clock: clock)
        case .setbit: setBit(arguments, clock: clock)
        case .getbit: getBit(arguments, clock: clock)
        case .bitcount: bitCount(arguments, clock: clock)
        case .bitpos: bitPosition(arguments, clock: clock)
        case .bitop: bitOperation(arguments, clock: clock)
        case .lcs: longestCommonSubsequence(arguments, clock: clock)
        case .rename, .renamenx: rename(arguments, onlyIfAbsent: command == .renamenx, clock: clock)
        case .copy: copy(arguments, clock: clock)
        case .touch: exists(arguments, clock: clock)
        case .object: object(arguments, clock: clock)
        case .memory: memory(arguments, clock: clock)
        case .dump: dump(arguments, clock: clock)
        case .restore: restore(arguments, clock: clock)
        default: preconditionFailure("\(command) is not a command of executeStringOrKey")
        }
    }

    /// `GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]`: the value (or null), and the key's TTL set or removed.
    ///
    /// The options are checked before the key is looked up, the time after, as Redis does: a missing key answers
    /// null whatever time was given. An absolute time already past deletes the key, after its value was read.
    mutating func getWithExpiry(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        var expiryOption: (unit: ExpiryUnit, argument: ArraySlice<UInt8>)?
        var persists = false
        var index = 2
        while index < arguments.count {
            let option = arguments.bytes(at: index)
            if ASCII.equals(option, "persist") && expiryOption == nil {
                persists = true
            } else if !persists && index + 1 < arguments.count, let unit = ExpiryUnit(option: option),
                expiryOption.map({ $0.unit == unit }) ?? true  // EX 1 EX 2 is fine (the last wins), EX 1 PX 2 is not
            {
                expiryOption = (unit, arguments.bytes(at: index + 1))
                index += 1
            } else {
                return Replies.syntaxError
            }
            index += 1
        }
        let key = arguments.key(at: 1)
        let reply: [UInt8]
        switch liveValue(key, clock: clock) {
        case .value(let value): reply = RESPWriter.bulk(value)
        case .missing: return Replies.nullBulk
        case .wrongType: return Replies.wrongType
        }
        if let expiryOption {
            let unit = expiryOption.unit
            let expiresAt: Int64
            switch Self.expiryTime(
                expiryOption.argument, unitMilliseconds: unit.milliseconds, isAbsolute: unit.isAbsolute, clock: clock)
            {
            case .success(let time): expiresAt = time
            case .failure(.notInteger): return Replies.notInteger
            case .failure(.invalid): return Replies.invalidExpireTime("getex")
            }
            if unit.isAbsolute && expiresAt <= Self.milliseconds(clock()) {
                remove(key)
                notify(.generic, "del", key)
            } else {
                setExpiry(expiresAt, for: key)
                notify(.generic, "expire", key)
            }
        } else if persists && expiry(of: key) != nil {
            setExpiry(nil, for: key)
            notify(.generic, "persist", key)
        }
        return reply
    }

    /// `GETRANGE key start end` (and `SUBSTR`): the bytes from `start` through `end`, both inclusive, negative ones
    /// counted from the end and clamped to the value; empty for a missing key or an empty range.
    mutating func getRange(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        guard let start = DecimalInteger.parse(arguments.bytes(at: 2)),
            let end = DecimalInteger.parse(arguments.bytes(at: 3))
        else { return Replies.notInteger }
        switch liveValue(arguments.key(at: 1), clock: clock) {
        case .value(let value):
            guard let range = Self.byteRange(start: start, end: end, count: Int64(value.count)) else {
                return Self.emptyBulk
            }
            return RESPWriter.bulk(value[(value.startIndex + range.lowerBound)...].prefix(range.count))
        case .missing: return Self.emptyBulk
        case .wrongType: return Replies.wrongType
        }
    }

    /// The positions from `start` through `end` of a sequence of `count`, by Redis's rules for GETRANGE and
    /// BITCOUNT: negative positions count from the end, and both are clamped to the sequence; nil when that leaves
    /// nothing (two negatives out of order stay empty even where clamping would overlap them).
    static func byteRange(start: Int64, end: Int64, count: Int64) -> Range<Int>? {
        if start < 0 && end < 0 && start > end { return nil }
        var start = start, end = end
        if start < 0 { start += count }
        if end < 0 { end += count }
        start = max(start, 0)
        end = min(max(end, 0), count - 1)
        guard start <= end, count > 0 else { return nil }
        return Int(start)..<Int(end) + 1
    }

    /// `SETRANGE key offset value`: writes `value` at `offset`, padding with zero bytes past the end (creating the
    /// key if missing), and answers the new length; an empty `value` writes nothing and answers the length.
    mutating func setRange(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        guard let offset = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
        guard offset >= 0 else { return Self.offsetOutOfRange }
        let key = arguments.key(at: 1)
        let patch = arguments.bytes(at: 3)
        // Compared by subtraction: the offset is the client's, and adding to it could overflow.
        let isTooLong = offset > Int64(Self.valueBytesLimit) - Int64(patch.count)
        switch liveValue(key, clock: clock) {
        case .missing:
            if patch.isEmpty { return Replies.zero }
            if isTooLong { return Replies.stringTooLong }
            var value = [UInt8](repeating: 0, count: Int(offset))
            value.append(contentsOf: patch)
            store(value[...], for: key, expiresAtMilliseconds: nil)
            notify(.string, "setrange", key)
            return RESPWriter.integer(Int64(value.count))
        case .wrongType: return Replies.wrongType
        case .value(let old):
            if patch.isEmpty { return RESPWriter.integer(Int64(old.count)) }
            if isTooLong { return Replies.stringTooLong }
            // A copy: the old value views the shard, and the write replaces it whole (its digest is of the whole).
            var value = Array(old)
            let end = Int(offset) + patch.count
            if value.count < end { value.append(contentsOf: repeatElement(0, count: end - value.count)) }
            value.replaceSubrange(Int(offset)..<end, with: patch)
            replaceValue(value, for: key)
            notify(.string, "setrange", key)
            return RESPWriter.integer(Int64(value.count))
        }
    }

    /// `INCRBYFLOAT key increment`: the value read as a long double plus `increment`, stored and answered as Redis
    /// prints it (`LongDouble`); a missing key counts as 0 and is created, an existing one keeps its TTL.
    mutating func incrementByFloat(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let key = arguments.key(at: 1)
        var current: LongDouble.Value = 0
        var exists = false
        switch liveValue(key, clock: clock) {
        case .value(let old):
            guard let parsed = LongDouble.parse(old) else { return Self.notFloat }
            current = parsed
            exists = true
        case .missing: break
        case .wrongType: return Replies.wrongType
        }
        guard let increment = LongDouble.parse(arguments.bytes(at: 2)) else { return Self.notFloat }
        let sum = current + increment
        guard !sum.isNaN, !sum.isInfinite else { return Self.notFiniteSum }
        let text = LongDouble.text(sum)
        if exists {
            replaceValue(text, for: key)
        } else {
            store(text[...], for: key, expiresAtMilliseconds: nil)
        }
        notify(.string, "incrbyfloat", key)
        return RESPWriter.bulk(text)
    }

    private static let emptyBulk = RESPWriter.bulk([UInt8]())
    private static let offsetOutOfRange = RESPWriter.error("ERR offset is out of range")
    private static let notFiniteSum = RESPWriter.error("ERR increment would produce NaN or Infinity")
}
