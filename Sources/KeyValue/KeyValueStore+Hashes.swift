/// The hash commands: HSET and its relatives, reads of fields and values, counters and HRANDFIELD.
///
/// A hash is a `CollectionValue` whose members map fields to values; see `KeyValueStore+Kinds.swift` for how keys
/// of one kind meet commands of another (WRONGTYPE) and how an emptied hash deletes its key.
extension KeyValueStore {
    mutating func executeHash(
        _ command: DataCommand, _ arguments: CommandArguments, clock: Clock, random: Random
    ) -> [UInt8] {
        let key = arguments.key(at: 1)
        switch command {
        case .hset, .hmset:
            guard arguments.count % 2 == 0 else { return Replies.wrongArity(command.rawValue) }
            let added = updateCollection(key, .hash, clock: clock) { hash in
                var added: Int64 = 0
                for position in stride(from: 2, to: arguments.count, by: 2)
                where hash.members.storeMember(arguments.bytes(at: position), value: arguments.bytes(at: position + 1)) {
                    added += 1
                }
                return added
            }
            guard let added else { return Replies.wrongType }
            notify(.hash, "hset", key)
            return command == .hmset ? Replies.ok : RESPWriter.integer(added)
        case .hsetnx:
            let added = updateCollection(key, .hash, clock: clock) { hash in
                guard !hash.members.contains(member: arguments.bytes(at: 2)) else { return false }
                return hash.members.storeMember(arguments.bytes(at: 2), value: arguments.bytes(at: 3))
            }
            guard let added else { return Replies.wrongType }
            if added { notify(.hash, "hset", key) }
            return added ? Replies.one : Replies.zero
        case .hdel:
            let removed = updateCollection(key, .hash, clock: clock) { hash in
                var removed: Int64 = 0
                for position in 2..<arguments.count where hash.members.removeMember(arguments.bytes(at: position)) {
                    removed += 1
                }
                return removed
            }
            if let removed, removed > 0 { notify(.hash, "hdel", key) }
            return removed.map(RESPWriter.integer) ?? Replies.wrongType
        case .hincrby: return incrementField(key, arguments, clock: clock)
        case .hincrbyfloat: return incrementFieldByFloat(key, arguments, clock: clock)
        case .hrandfield: return randomFields(key, arguments, clock: clock, random: random)
        default: return readHash(command, key, arguments, clock: clock)
        }
    }

    /// The hash commands that only read.
    private mutating func readHash(
        _ command: DataCommand, _ key: StoreKey, _ arguments: CommandArguments, clock: Clock
    ) -> [UInt8] {
        let hash: MemberTable
        switch liveCollection(key, .hash, clock: clock) {
        case .wrongType: return Replies.wrongType
        case .found(let collection): hash = collection.members
        case .missing: hash = MemberTable()
        }
        switch command {
        case .hget:
            return hash.value(ofMember: arguments.bytes(at: 2)).map(RESPWriter.bulk) ?? Replies.nullBulk
        case .hmget:
            var writer = RESPWriter()
            writer.appendArrayHeader(count: arguments.count - 2)
            for position in 2..<arguments.count {
                if let value = hash.value(ofMember: arguments.bytes(at: position)) {
                    writer.appendBulk(value)
                } else {
                    writer.appendNullBulk()
                }
            }
            return writer.bytes
        case .hlen: return RESPWriter.integer(Int64(hash.count))
        case .hstrlen: return RESPWriter.integer(Int64(hash.value(ofMember: arguments.bytes(at: 2))?.count ?? 0))
        case .hexists: return hash.contains(member: arguments.bytes(at: 2)) ? Replies.one : Replies.zero
        case .hkeys, .hvals, .hgetall:
            let withFields = command != .hvals, withValues = command != .hkeys
            var writer = RESPWriter()
            writer.appendArrayHeader(count: hash.count * (withFields && withValues ? 2 : 1))
            for member in hash {
                if withFields { writer.appendBulk(member.field) }
                if withValues { writer.appendBulk(member.value) }
            }
            return writer.bytes
        default:
            preconditionFailure("\(command) is not a hash read")
        }
    }

    /// `HINCRBY key field increment`: the new value; a missing field counts from 0.
    private mutating func incrementField(_ key: StoreKey, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        guard let increment = DecimalInteger.parse(arguments.bytes(at: 3)) else { return Replies.notInteger }
        let field = arguments.bytes(at: 2)
        let reply = updateCollection(key, .hash, clock: clock) { hash -> [UInt8] in
            var current: Int64 = 0
            if let old = hash.members.value(ofMember: field) {
                guard let parsed = DecimalInteger.parse(old) else { return Self.hashValueNotInteger }
                current = parsed
            }
            let (sum, overflow) = current.addingReportingOverflow(increment)
            guard !overflow else { return Replies.overflow }
            hash.members.storeMember(field, value: DecimalInteger.text(sum)[...])
            return RESPWriter.integer(sum)
        }
        if let reply, reply.first != UInt8(ascii: "-") { notify(.hash, "hincrby", key) }
        return reply ?? Replies.wrongType
    }

    /// `HINCRBYFLOAT key field increment`: the new value as Redis prints a long double.
    private mutating func incrementFieldByFloat(
        _ key: StoreKey, _ arguments: CommandArguments, clock: Clock
    ) -> [UInt8] {
        guard let increment = LongDouble.parse(arguments.bytes(at: 3)) else { return Self.notFloat }
        guard !increment.isInfinite else { return Self.incrementNotFinite }
        let field = arguments.bytes(at: 2)
        let reply = updateCollection(key, .hash, clock: clock) { hash -> [UInt8] in
            var current: LongDouble.Value = 0
            if let old = hash.members.value(ofMember: field) {
                guard let parsed = LongDouble.parse(old) else { return Self.hashValueNotFloat }
                current = parsed
            }
            let sum = current + increment
            guard !sum.isNaN, !sum.isInfinite else { return Self.nanOrInfinity }
            let text = LongDouble.text(sum)
            hash.members.storeMember(field, value: text[...])
            return RESPWriter.bulk(text)
        }
        if let reply, reply.first != UInt8(ascii: "-") { notify(.hash, "hincrbyfloat", key) }
        return reply ?? Replies.wrongType
    }

    /// `HRANDFIELD key [count [WITHVALUES]]`: one random field (or null); or `count` distinct ones (all, if fewer),
    /// or with a negative count that many drawn with repeats. Draws one recorded random value, only when the key
    /// holds fields and the count is not 0.
    private mutating func randomFields(
        _ key: StoreKey, _ arguments: CommandArguments, clock: Clock, random: Random
    ) -> [UInt8] {
        var count: Int64?
        var withValues = false
        if arguments.count >= 3 {
            guard let parsed = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
            guard parsed != Int64.min else { return Self.outsideSignedRange }
            if arguments.count > 4 || (arguments.count == 4 && !ASCII.equals(arguments.bytes(at: 3), "withvalues")) {
                return Replies.syntaxError
            }
            withValues = arguments.count == 4
            if withValues && (parsed < -Int64.max / 2 || parsed > Int64.max / 2) { return Self.outOfRange }
            count = parsed
        }
        let hash: MemberTable
        switch liveCollection(key, .hash, clock: clock) {
        case .wrongType: return Replies.wrongType
        case .missing: return count == nil ? Replies.nullBulk : Self.emptyArray
        case .found(let collection): hash = collection.members
        }
        guard let count else {
            return RESPWriter.bulk(hash.member(atPosition: Int(random() % UInt64(hash.count))).field)
        }
        guard count != 0 else { return Self.emptyArray }
        guard count >= -Int64(Self.randomPicksLimit) else { return Self.tooManyPicks }
        let positions = Self.randomPositions(count: count, of: hash.count, seed: random())
        var writer = RESPWriter()
        writer.appendArrayHeader(count: positions.count * (withValues ? 2 : 1))
        for position in positions {
            let member = hash.member(atPosition: position)
            writer.appendBulk(member.field)
            if withValues { writer.appendBulk(member.value) }
        }
        return writer.bytes
    }

    /// Positions of a collection of `size` members picked from one random `seed`, as HRANDFIELD, SRANDMEMBER and
    /// SPOP pick: a negative `count` draws `-count` positions with repeats; a positive one `count` distinct
    /// positions (every one, in order, when `count` reaches `size`) by a partial Fisher-Yates shuffle, O(count): the
    /// shuffle's array is kept as the places it moved, so a few picks from millions of members cost a few steps.
    static func randomPositions(count: Int64, of size: Int, seed: UInt64) -> [Int] {
        var generator = SplitMix64(seed: seed)
        if count < 0 {
            return (0..<Int(-count)).map { _ in Int(generator.next() % UInt64(size)) }
        }
        guard count < size else { return Array(0..<size) }
        var moved: [Int: Int] = [:]
        return (0..<Int(count)).map { index in
            let other = index + Int(generator.next() % UInt64(size - index))
            let picked = moved[other] ?? other
            moved[other] = moved[index] ?? index
            return picked
        }
    }

    /// Most members a negative count may draw with repeats in one reply (HRANDFIELD, SRANDMEMBER). Redis has no
    /// bound and builds whatever was asked; here one command must not make the primary build a reply of gigabytes.
    static let randomPicksLimit = 1 << 22
    static let tooManyPicks = RESPWriter.error("ERR count is out of range, at most \(randomPicksLimit) picks")
    static let emptyArray = Array("*0\r\n".utf8)
    static let outOfRange = RESPWriter.error("ERR value is out of range")
    private static let hashValueNotInteger = RESPWriter.error("ERR hash value is not an integer")
    private static let hashValueNotFloat = RESPWriter.error("ERR hash value is not a float")
    static let notFloat = RESPWriter.error("ERR value is not a valid float")
    private static let incrementNotFinite = RESPWriter.error("ERR value is NaN or Infinity")
    /// Redis's words for a count outside `-LONG_MAX...LONG_MAX` (sic).
    static let outsideSignedRange = RESPWriter.error(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    private static let nanOrInfinity = RESPWriter.error("ERR increment would produce NaN or Infinity")
}
