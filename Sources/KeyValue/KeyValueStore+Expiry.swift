import Replication

/// TTLs: the EXPIRE and TTL families, TIME, RANDOMKEY, and active expiry in `tick`.
///
/// Expiry times are absolute Unix milliseconds, as in Redis; a key is expired once the clock is past its time.
/// A key is deleted lazily, when a command meets it expired, or actively, when `tick` samples it. Both read
/// the clock only through the `ApplyContext`, so the backup deletes the same keys at the same log position.
extension KeyValueStore {
    enum ExpiryTimeError: Error { case notInteger, invalid }

    /// What a SET expiry option's number means: its unit, and whether it is a time or a duration.
    struct ExpiryUnit: Equatable {
        var milliseconds: Int64
        var isAbsolute: Bool

        /// The meaning of `EX`, `PX`, `EXAT` or `PXAT` in any case; nil for another word.
        init?(option: ArraySlice<UInt8>) {
            if ASCII.equals(option, "ex") {
                (milliseconds, isAbsolute) = (1000, false)
            } else if ASCII.equals(option, "px") {
                (milliseconds, isAbsolute) = (1, false)
            } else if ASCII.equals(option, "exat") {
                (milliseconds, isAbsolute) = (1000, true)
            } else if ASCII.equals(option, "pxat") {
                (milliseconds, isAbsolute) = (1, true)
            } else {
                return nil
            }
        }
    }

    /// The absolute expiry time of a SET-family option, by Redis's rules: a positive integer that does not
    /// overflow once converted to milliseconds and, for a relative time, added to now.
    static func expiryTime(
        _ argument: ArraySlice<UInt8>, unitMilliseconds: Int64, isAbsolute: Bool, clock: Clock
    ) -> Result<Int64, ExpiryTimeError> {
        guard let amount = DecimalInteger.parse(argument) else { return .failure(.notInteger) }
        guard amount > 0 else { return .failure(.invalid) }
        let (scaled, overflow) = amount.multipliedReportingOverflow(by: unitMilliseconds)
        guard !overflow else { return .failure(.invalid) }
        if isAbsolute { return .success(scaled) }
        let (expiresAt, overflowNow) = scaled.addingReportingOverflow(milliseconds(clock()))
        guard !overflowNow, expiresAt > 0 else { return .failure(.invalid) }
        return .success(expiresAt)
    }

    /// `EXPIRE`/`PEXPIRE`/`EXPIREAT`/`PEXPIREAT key time [NX|XX|GT|LT]`: 1 when the TTL was set (or the key
    /// deleted because the time has passed), 0 when the key is missing or the condition did not hold.
    mutating func expire(
        _ arguments: CommandArguments, _ command: DataCommand, unitMilliseconds: Int64, isAbsolute: Bool, clock: Clock
    ) -> [UInt8] {
        var onlyIfNone = false, onlyIfSome = false, onlyIfGreater = false, onlyIfLess = false
        for position in arguments.indices.dropFirst(3) {
            let option = arguments.bytes(at: position)
            if ASCII.equals(option, "nx") {
                onlyIfNone = true
            } else if ASCII.equals(option, "xx") {
                onlyIfSome = true
            } else if ASCII.equals(option, "gt") {
                onlyIfGreater = true
            } else if ASCII.equals(option, "lt") {
                onlyIfLess = true
            } else {
                var message = Array("ERR Unsupported option ".utf8)
                message.append(contentsOf: option)
                var writer = RESPWriter()
                writer.appendError(message)
                return writer.bytes
            }
        }
        if onlyIfNone && (onlyIfSome || onlyIfGreater || onlyIfLess) {
            return RESPWriter.error("ERR NX and XX, GT or LT options at the same time are not compatible")
        }
        if onlyIfGreater && onlyIfLess {
            return RESPWriter.error("ERR GT and LT options at the same time are not compatible")
        }
        guard let amount = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
        let (scaled, overflow) = amount.multipliedReportingOverflow(by: unitMilliseconds)
        let base = isAbsolute ? 0 : Self.milliseconds(clock())
        let (expiresAt, overflowBase) = scaled.addingReportingOverflow(base)
        guard !overflow, !overflowBase else { return Replies.invalidExpireTime(command.rawValue) }
        let key = arguments.key(at: 1)
        guard isLive(key, clock: clock) else { return Replies.zero }
        let current = expiry(of: key)
        if onlyIfNone && current != nil { return Replies.zero }
        if onlyIfSome && current == nil { return Replies.zero }
        // For GT a key without a TTL counts as expiring never, so nothing is greater; for LT anything is less.
        if onlyIfGreater, current == nil || expiresAt <= current! { return Replies.zero }
        if onlyIfLess, let current, expiresAt >= current { return Replies.zero }
        if expiresAt <= Self.milliseconds(clock()) {
            remove(key)
            notify(.generic, "del", key)
        } else {
            setExpiry(expiresAt, for: key)
            notify(.generic, "expire", key)
        }
        return Replies.one
    }

    /// `TTL`/`PTTL` (time left) and `EXPIRETIME`/`PEXPIRETIME` (the absolute time): -2 for a missing key,
    /// -1 for a key without a TTL; seconds are rounded to nearest, as Redis does.
    mutating func timeToLive(
        _ arguments: CommandArguments, inMilliseconds: Bool, isAbsolute: Bool, clock: Clock
    ) -> [UInt8] {
        let key = arguments.key(at: 1)
        guard isLive(key, clock: clock) else { return RESPWriter.integer(-2) }
        guard let expiresAt = expiry(of: key) else { return RESPWriter.integer(-1) }
        var remaining = expiresAt
        if !isAbsolute {
            let (difference, overflow) = expiresAt.subtractingReportingOverflow(Self.milliseconds(clock()))
            remaining = overflow ? Int64.max : difference
        }
        remaining = max(remaining, 0)
        if inMilliseconds { return RESPWriter.integer(remaining) }
        return RESPWriter.integer(remaining / 1000 + (remaining % 1000 >= 500 ? 1 : 0))
    }

    /// `PERSIST key`: 1 when a TTL was removed, 0 when the key is missing or had none.
    mutating func persist(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let key = arguments.key(at: 1)
        guard isLive(key, clock: clock), expiry(of: key) != nil else { return Replies.zero }
        setExpiry(nil, for: key)
        notify(.generic, "persist", key)
        return Replies.one
    }

    /// `TIME`: the recorded wall clock as two bulk strings, Unix seconds and microseconds.
    func time(clock: Clock) -> [UInt8] {
        let nanoseconds = clock()
        var seconds = nanoseconds / 1_000_000_000
        var remainder = nanoseconds % 1_000_000_000
        if remainder < 0 {
            seconds -= 1
            remainder += 1_000_000_000
        }
        var writer = RESPWriter()
        writer.appendArrayHeader(count: 2)
        writer.appendBulk(DecimalInteger.text(seconds))
        writer.appendBulk(DecimalInteger.text(remainder / 1000))
        return writer.bytes
    }

    /// `RANDOMKEY`: a live key chosen with one recorded random value, or null.
    ///
    /// The random value picks a shard (its remainder by the shard count) and a position in it (the quotient's
    /// remainder by the shard's count); a store of one shard thus picks exactly `seed mod DBSIZE`. An expired key
    /// found there is deleted (swap-remove brings another key into the same position), an empty shard is stepped
    /// over to the next one, so one random value serves however many probes; at most `randomKeyProbesLimit` are
    /// made, so a store full of expired keys cannot stall the primary. Not perfectly uniform: a key in a small
    /// shard, or after an empty one, is likelier; Redis's pick is not uniform either.
    mutating func randomKey(seed: UInt64, clock: Clock) -> [UInt8] {
        var shardIndex = Int(seed % UInt64(shards.count))
        let pick = seed / UInt64(shards.count)
        for _ in 0..<Self.randomKeyProbesLimit {
            guard count > 0 else { return Replies.nullBulk }
            shardIndex %= shards.count  // a deletion may have merged the last shard away
            let shardCount = shards[shardIndex].count
            guard shardCount > 0 else {
                shardIndex += 1
                continue
            }
            // Owned: a key viewing the shard would make deleting it copy the shard's storage.
            let key = shards[shardIndex].key(atPosition: Int(pick % UInt64(shardCount))).owned
            if isLive(key, clock: clock) { return RESPWriter.bulk(Array(key.bytes)) }
        }
        return Replies.nullBulk
    }

    /// Active expiry: samples keys with a TTL and deletes the expired ones, so keys nobody reads again still go.
    ///
    /// Reads nothing when no key has a TTL; otherwise one clock value and one random value, which seeds the
    /// sampling sequence, so the log entry stays small however many keys are sampled. Every database holding keys
    /// with TTLs is sampled in turn, in number order, by `expireSample`: the work per tick is bounded by
    /// `databaseCount` times one database's. Idle client sessions expire here too.
    public mutating func tick(context: inout ApplyContext) {
        _ = tickWithOutput(context: &context)
    }

    /// `tick`, returning the `expired` notifications of the keys it deleted, in a release envelope; empty for none.
    public mutating func tickWithOutput(context: inout ApplyContext) -> [UInt8] {
        startNotifying()
        defer { notifiedEvents = [] }
        sweep(context: &context)
        if !emptiedKeys.isEmpty { finishCommandEvents() }
        guard !heldForRelease.isEmpty else { return [] }
        defer { heldForRelease.removeAll() }
        return ReleaseEnvelope.encode(heldForRelease, reply: [])
    }

    /// The work of `tick`.
    private mutating func sweep(context: inout ApplyContext) {
        expireIdleSessions(context: &context)
        if !blocked.isEmpty { sweepStaleWaiters(context: &context) }
        // Expiry only deletes, which gives no waiter anything to pop.
        defer { blocked.forgetReadyKeys() }
        guard isActiveExpiryOn, (0..<Self.databaseCount).contains(where: { counts(of: $0).expiring > 0 }) else { return }
        let now = Self.milliseconds(context.wallClockNanoseconds())
        var generator = SplitMix64(seed: context.randomValue())
        let selected = selectedDatabase
        for database in 0..<Self.databaseCount where counts(of: database).expiring > 0 {
            selectDatabase(database)
            expireSample(now: now, generator: &generator)
        }
        selectDatabase(selected)
    }

    /// One database's active expiry: each sample takes a random shard, steps to the next one holding keys with TTLs
    /// (at most `activeExpiryShardScanLimit`), then a random key of its TTL order: not uniform over the keys with
    /// TTLs (a key in a shard with fewer of them is likelier), but every such key can be drawn, and the work is
    /// bounded by `activeExpiryRoundsLimit` rounds of `activeExpirySampleLimit`.
    private mutating func expireSample(now: Int64, generator: inout SplitMix64) {
        for _ in 0..<Self.activeExpiryRoundsLimit {
            let sampled = min(Self.activeExpirySampleLimit, expiringCount)
            var expired = 0
            for _ in 0..<sampled where expiringCount > 0 {
                let start = Int(generator.next() % UInt64(shards.count))
                let draw = generator.next()
                guard
                    let index = shardIndex(
                        from: start, scanLimit: Self.activeExpiryShardScanLimit, where: { $0.expiringCount > 0 })
                else { continue }
                let sample = shards[index].expiringKey(
                    atPosition: Int(draw % UInt64(shards[index].expiringCount)))
                if now > sample.expiresAtMilliseconds {
                    removeExpired(sample.key.owned)  // owned, as in `randomKey`
                    expired += 1
                }
            }
            if expiringCount == 0 || expired * 4 <= sampled { break }
        }
    }
}

extension KeyValueStore {
    /// Applies `DEBUG SET-ACTIVE-EXPIRE n`, the one DEBUG subcommand that changes the state (the frontend answers the
    /// node-local ones, and RELOAD and OBJECT are reads, `KeyValueStore+Debug`): `n` read as Redis's `atoi` reads it,
    /// 0 turning the tick's expiry off and anything else on. +OK.
    mutating func applyDebug(_ arguments: CommandArguments, context: inout ApplyContext) -> [UInt8] {
        guard arguments.count == 3, ASCII.equals(arguments.bytes(at: 1), "set-active-expire") else {
            guard arguments.count >= 2 else { return Replies.wrongArity("debug") }
            return Self.withClock(&context) { clock in applyDebugRead(arguments, clock: clock) }
        }
        isActiveExpiryOn = Self.leadingInteger(arguments.bytes(at: 2)) != 0
        return Replies.ok
    }

    /// C's `atoi`: optional blanks, an optional sign, then the digits up to the first other byte; 0 without any.
    static func leadingInteger(_ text: ArraySlice<UInt8>) -> Int64 {
        var bytes = text.drop { $0 == UInt8(ascii: " ") || ($0 >= 9 && $0 <= 13) }
        let isNegative = bytes.first == UInt8(ascii: "-")
        if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        var value: Int64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { break }
            value = value &* 10 &+ Int64(byte - UInt8(ascii: "0"))
        }
        return isNegative ? -value : value
    }
}
