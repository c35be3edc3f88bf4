/// SCAN, HSCAN, SSCAN and ZSCAN: incremental iteration with Redis 7.0's replies, errors and guarantee, by a cursor
/// over hash classes (`ScanCursor`) that a backup continues after a failover.
///
/// SCAN visits whole shards of the selected database: a shard holds the keys of one hash class, so the cursor names
/// the next class whatever the table's level and split pointer are then. A collection's members are visited by shard
/// of its `MemberTable` the same way (a collection of one shard, as Redis's small encodings, in one call). Each call
/// stops once it has gathered COUNT elements (counted before MATCH and TYPE filter them, as Redis counts) or visited
/// `scanVisitsLimit` classes, so its work is bounded by a constant times a shard's size, never by the whole store. A
/// key whose TTL has passed is skipped, not deleted (as KEYS skips one): so SCAN changes nothing, and a read answers it
/// without a log entry on either node.
extension KeyValueStore {
    /// Most hash classes (shards of the store or of a collection's `MemberTable`) one call visits, whatever COUNT
    /// asks; with COUNT's own bound (ten classes per element asked, as Redis bounds empty buckets) it caps a call
    /// whose MATCH or TYPE filters everything out. A shard holds a few hundred keys (`shardLoadBound`) or members, so
    /// a call examines at most some thousands.
    static let scanVisitsLimit = 16

    private static let emptyScan = RESPWriter.array([RESPWriter.bulk("0"), RESPWriter.array([])])
    private static let invalidCursor = RESPWriter.error("ERR invalid cursor")

    /// The options after the cursor: COUNT, MATCH and, for SCAN alone, TYPE.
    struct ScanOptions {
        var count = 10
        var pattern: GlobPattern?
        var typeName: [UInt8]?

        /// The options from argument `start` on; the error reply Redis gives when they are malformed.
        init(_ arguments: CommandArguments, from start: Int, allowsType: Bool) throws(ErrorReply) {
            var position = start
            while position < arguments.count {
                let name = arguments.bytes(at: position)
                let hasValue = position + 1 < arguments.count
                if ASCII.equals(name, "count") && hasValue {
                    guard let count = DecimalInteger.parse(arguments.bytes(at: position + 1)) else {
                        throw ErrorReply(reply: Replies.notInteger)
                    }
                    guard count >= 1 else { throw ErrorReply(reply: Replies.syntaxError) }
                    self.count = Int(count)
                } else if ASCII.equals(name, "match") && hasValue {
                    let pattern = arguments[position + 1]
                    // "*" matches everything: Redis skips the match, and so does this.
                    self.pattern = pattern == [UInt8(ascii: "*")] ? nil : GlobPattern(pattern)
                } else if ASCII.equals(name, "type") && allowsType && hasValue {
                    typeName = ASCII.lowercased(arguments[position + 1])
                } else {
                    throw ErrorReply(reply: Replies.syntaxError)
                }
                position += 2
            }
        }

        /// Classes one call may visit: ten per element asked, as Redis, within `limit`.
        func visitsLimit(_ limit: Int) -> Int { count >= limit / 10 ? limit : count * 10 }
    }

    /// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]` over the selected database.
    func scan(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        guard var cursor = ScanCursor.parse(arguments.bytes(at: 1)) else { return Self.invalidCursor }
        let options: ScanOptions
        do {
            options = try ScanOptions(arguments, from: 2, allowsType: true)
        } catch {
            return error.reply
        }
        var found: [(shard: Int, position: Int)] = []
        cursor = ScanCursor.walk(
            from: cursor, visitsLimit: options.visitsLimit(Self.scanVisitsLimit), until: { found.count >= options.count }
        ) { cursor in
            // The shard of the cursor's class: the one a key whose hash were the cursor would live in.
            let index = shardIndex(hash: cursor)
            for position in 0..<shards[index].count { found.append((index, position)) }
            return Self.classBits(of: cursor, level: level, splitPointer: splitPointer)
        }
        var writer = RESPWriter()
        writer.appendArrayHeader(count: 2)
        writer.appendBulk(ScanCursor.text(cursor))
        var keys: [ArraySlice<UInt8>] = []
        for (index, position) in found {
            let shard = shards[index]
            let key = shard.key(atPosition: position).bytes
            if let pattern = options.pattern, !pattern.matches(key) { continue }
            if let typeName = options.typeName, !typeName.elementsEqual(shard.kind(at: position).typeName.utf8) {
                continue
            }
            if let expiresAt = shard.expiry(atPosition: position), Self.milliseconds(clock()) > expiresAt { continue }
            keys.append(key)
        }
        writer.appendArrayHeader(count: keys.count)
        for key in keys { writer.appendBulk(key) }
        return writer.bytes
    }

    /// `HSCAN`, `SSCAN` or `ZSCAN key cursor [MATCH pattern] [COUNT count]` on a collection of `kind`.
    mutating func scanCollection(_ kind: ValueKind, _ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        // Redis's order: the cursor, then the key, then the options.
        guard var cursor = ScanCursor.parse(arguments.bytes(at: 2)) else { return Self.invalidCursor }
        let collection: CollectionValue
        switch liveCollection(arguments.key(at: 1), kind, clock: clock) {
        case .missing: return Self.emptyScan
        case .wrongType: return Replies.wrongType
        case .found(let found): collection = found
        }
        let options: ScanOptions
        do {
            options = try ScanOptions(arguments, from: 3, allowsType: false)
        } catch {
            return error.reply
        }
        var found: [MemberTable.Member] = []
        let visitsLimit = options.visitsLimit(Self.scanVisitsLimit)
        cursor = ScanCursor.walk(
            from: cursor, visitsLimit: visitsLimit, until: { found.count >= options.count }
        ) { cursor in
            let (members, bits) = collection.members.members(inClassOf: cursor)
            found += members
            return bits
        }
        var writer = RESPWriter()
        writer.appendArrayHeader(count: 2)
        writer.appendBulk(ScanCursor.text(cursor))
        let matched = found.filter { options.pattern?.matches($0.field) ?? true }
        writer.appendArrayHeader(count: kind == .set ? matched.count : 2 * matched.count)
        for (field, value) in matched {
            writer.appendBulk(field)
            switch kind {
            case .hash: writer.appendBulk(value)
            case .sortedSet: Score.append(Score.value(value), to: &writer)
            default: break
            }
        }
        return writer.bytes
    }
}
