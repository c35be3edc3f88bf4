/// `DUMP` and `RESTORE`: a key's value as Redis 7.0's serialized payload (`DumpPayload`), so that keys move between
/// Redis and Lockstep in either direction.
///
/// DUMP is a read, answered without a log entry. RESTORE is a write like any other: the payload travels in the entry
/// and both nodes decode the same bytes, so they build the same value. A relative TTL is turned into an absolute one
/// with the entry's recorded clock, as Redis rewrites it for its replicas. IDLETIME and FREQ are checked as Redis
/// checks them and then ignored: the store keeps no access times or frequencies (`KeyValueStore+Object`).
extension KeyValueStore {
    /// `DUMP key`: the payload of the key's value, or null when it is missing.
    mutating func dump(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let key = arguments.key(at: 1)
        switch liveValue(key, clock: clock) {
        case .missing: return Replies.nullBulk
        case .value(let string): return RESPWriter.bulk(DumpPayload.encode(string: string))
        case .wrongType: return RESPWriter.bulk(DumpPayload.encode(entry(of: key).collection!))
        }
    }

    /// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`: +OK once `key` holds
    /// the payload's value, with the TTL in milliseconds (0: none; a Unix time with ABSTTL). Checked in Redis's order:
    /// the options, the key (BUSYKEY unless REPLACE), the TTL, the payload's footer, then its value. A TTL already
    /// past answers +OK and leaves the key deleted (notified `del` if REPLACE removed it), as Redis does.
    mutating func restore(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        var replaces = false, isAbsolute = false, hasIdleTime = false, hasFrequency = false
        var index = 4
        while index < arguments.count {
            let option = arguments.bytes(at: index)
            let hasArgument = index + 1 < arguments.count
            if ASCII.equals(option, "replace") {
                replaces = true
            } else if ASCII.equals(option, "absttl") {
                isAbsolute = true
            } else if ASCII.equals(option, "idletime") && hasArgument && !hasFrequency {
                guard let seconds = DecimalInteger.parse(arguments.bytes(at: index + 1)) else {
                    return Replies.notInteger
                }
                guard seconds >= 0 else { return Self.invalidIdleTime }
                hasIdleTime = true
                index += 1
            } else if ASCII.equals(option, "freq") && hasArgument && !hasIdleTime {
                guard let frequency = DecimalInteger.parse(arguments.bytes(at: index + 1)) else {
                    return Replies.notInteger
                }
                guard frequency >= 0 && frequency <= 255 else { return Self.invalidFrequency }
                hasFrequency = true
                index += 1
            } else {
                return Replies.syntaxError
            }
            index += 1
        }
        let key = arguments.key(at: 1)
        let exists = isLive(key, clock: clock)
        if exists && !replaces { return Self.busyKey }
        guard let ttl = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
        guard ttl >= 0 else { return Self.invalidTTL }
        let value: DumpPayload.Value
        do {
            value = try DumpPayload.decode(arguments.bytes(at: 3))
        } catch {
            return error.reply
        }
        if exists { remove(key) }
        var expiresAt: Int64?
        if ttl > 0 {
            let now = Self.milliseconds(clock())
            // Redis adds without a check; past Int64 no time can be meant, so the TTL reads as never reached.
            let (sum, overflows) = now.addingReportingOverflow(ttl)
            expiresAt = isAbsolute ? ttl : overflows ? Int64.max : sum
            // Redis's `checkAlreadyExpired`: a time not after now has passed.
            if expiresAt! <= now {
                if exists { notify(.generic, "del", key) }
                return Replies.ok
            }
        }
        switch value {
        case .string(let string): store(string[...], for: key, expiresAtMilliseconds: expiresAt)
        case .collection(let collection):
            insert(collection, for: key)
            if let expiresAt { setExpiry(expiresAt, for: key) }
        }
        notify(.generic, "restore", key)
        return Replies.ok
    }

    private static let busyKey = RESPWriter.error("BUSYKEY Target key name already exists.")
    private static let invalidTTL = RESPWriter.error("ERR Invalid TTL value, must be >= 0")
    private static let invalidIdleTime = RESPWriter.error("ERR Invalid IDLETIME value, must be >= 0")
    private static let invalidFrequency = RESPWriter.error("ERR Invalid FREQ value, must be >= 0 and <= 255")
}
