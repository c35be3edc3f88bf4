/// The set commands: SADD and SREM, membership, SPOP and SRANDMEMBER, SMOVE, and the set algebra with its STORE forms.
///
/// A set is a `CollectionValue` whose members map each member to an empty value (`KeyValueStore+Kinds.swift`).
extension KeyValueStore {
    mutating func executeSet(
        _ command: DataCommand, _ arguments: CommandArguments, clock: Clock, random: Random
    ) -> [UInt8] {
        let key = arguments.key(at: 1)
        switch command {
        case .sadd, .srem:
            let changed = updateCollection(key, .set, clock: clock) { set in
                var changed: Int64 = 0
                for position in 2..<arguments.count {
                    let member = arguments.bytes(at: position)
                    let isChanged = command == .sadd ? set.members.storeMember(member) : set.members.removeMember(member)
                    if isChanged { changed += 1 }
                }
                return changed
            }
            if let changed, changed > 0 { notify(.set, command == .sadd ? "sadd" : "srem", key) }
            return changed.map(RESPWriter.integer) ?? Replies.wrongType
        case .spop: return pop(key, arguments, clock: clock, random: random)
        case .srandmember: return randomMembers(key, arguments, clock: clock, random: random)
        case .smove: return move(key, to: arguments.key(at: 2), arguments.bytes(at: 3), clock: clock)
        case .sinter, .sunion, .sdiff:
            guard let result = combine(command, keys: 1..<arguments.count, arguments, clock: clock) else {
                return Replies.wrongType
            }
            return Self.membersReply(result)
        case .sinterstore, .sunionstore, .sdiffstore:
            let operation: DataCommand = command == .sinterstore ? .sinter : command == .sunionstore ? .sunion : .sdiff
            guard let result = combine(operation, keys: 2..<arguments.count, arguments, clock: clock) else {
                return Replies.wrongType
            }
            var set = CollectionValue(kind: .set)
            set.members = result
            let existed = replace(key, with: set)
            if result.count > 0 {
                let event: StaticString =
                    command == .sinterstore ? "sinterstore" : command == .sunionstore ? "sunionstore" : "sdiffstore"
                notify(.set, event, key)
            } else if existed {
                notify(.generic, "del", key)
            }
            return RESPWriter.integer(Int64(result.count))
        case .sintercard: return intersectionCount(arguments, clock: clock)
        default: return readSet(command, key, arguments, clock: clock)
        }
    }

    /// The set commands that only read one set.
    private mutating func readSet(
        _ command: DataCommand, _ key: StoreKey, _ arguments: CommandArguments, clock: Clock
    ) -> [UInt8] {
        let set: MemberTable
        switch liveCollection(key, .set, clock: clock) {
        case .wrongType: return Replies.wrongType
        case .found(let collection): set = collection.members
        case .missing: set = MemberTable()
        }
        switch command {
        case .sismember: return set.contains(member: arguments.bytes(at: 2)) ? Replies.one : Replies.zero
        case .smismember:
            var writer = RESPWriter()
            writer.appendArrayHeader(count: arguments.count - 2)
            for position in 2..<arguments.count {
                writer.appendInteger(set.contains(member: arguments.bytes(at: position)) ? 1 : 0)
            }
            return writer.bytes
        case .scard: return RESPWriter.integer(Int64(set.count))
        case .smembers: return Self.membersReply(set)
        default: preconditionFailure("\(command) is not a set read")
        }
    }

    /// `SPOP key [count]`: one random member removed (or null), or up to `count` distinct ones (an array).
    private mutating func pop(
        _ key: StoreKey, _ arguments: CommandArguments, clock: Clock, random: Random
    ) -> [UInt8] {
        guard arguments.count <= 3 else { return Replies.syntaxError }
        var count: Int64?
        if arguments.count == 3 {
            guard let parsed = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
            guard parsed >= 0 else { return Self.notPositive }
            count = parsed
        }
        let popped = updateCollection(key, .set, clock: clock) { set -> [[UInt8]]? in
            guard set.count > 0 else { return nil }
            guard let count else {
                let member = Array(set.members.member(atPosition: Int(random() % UInt64(set.count))).field)
                set.members.removeMember(member[...])
                return [member]
            }
            guard count > 0 else { return [] }
            let positions = Self.randomPositions(count: count, of: set.count, seed: random())
            let members = positions.map { Array(set.members.member(atPosition: $0).field) }
            for member in members { set.members.removeMember(member[...]) }
            return members
        }
        guard let popped else { return Replies.wrongType }
        guard let popped else { return count == nil ? Replies.nullBulk : Self.emptyArray }
        if !popped.isEmpty { notify(.set, "spop", key) }
        if count == nil { return RESPWriter.bulk(popped[0]) }
        return RESPWriter.array(popped.map(RESPWriter.bulk))
    }

    /// `SRANDMEMBER key [count]`: as HRANDFIELD for a set; draws one recorded random value when there is a pick.
    private mutating func randomMembers(
        _ key: StoreKey, _ arguments: CommandArguments, clock: Clock, random: Random
    ) -> [UInt8] {
        guard arguments.count <= 3 else { return Replies.syntaxError }
        var count: Int64?
        if arguments.count == 3 {
            guard let parsed = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
            guard parsed != Int64.min else { return Self.outsideSignedRange }
            count = parsed
        }
        let set: MemberTable
        switch liveCollection(key, .set, clock: clock) {
        case .wrongType: return Replies.wrongType
        case .missing: return count == nil ? Replies.nullBulk : Self.emptyArray
        case .found(let collection): set = collection.members
        }
        guard let count else { return RESPWriter.bulk(set.member(atPosition: Int(random() % UInt64(set.count))).field) }
        guard count != 0 else { return Self.emptyArray }
        guard count >= -Int64(Self.randomPicksLimit) else { return Self.tooManyPicks }
        let positions = Self.randomPositions(count: count, of: set.count, seed: random())
        var writer = RESPWriter()
        writer.appendArrayHeader(count: positions.count)
        for position in positions { writer.appendBulk(set.member(atPosition: position).field) }
        return writer.bytes
    }

    /// `SMOVE source destination member`: 1 when the member moved (or is in a set moved onto itself), else 0.
    private mutating func move(
        _ source: StoreKey, to destination: StoreKey, _ member: ArraySlice<UInt8>, clock: Clock
    ) -> [UInt8] {
        guard let sourceKind = liveKind(source, clock: clock) else { return Replies.zero }
        let destinationKind = liveKind(destination, clock: clock)
        guard sourceKind == .set, destinationKind == nil || destinationKind == .set else { return Replies.wrongType }
        if source == destination {
            guard case .found(let set) = liveCollection(source, .set, clock: clock) else { return Replies.zero }
            return set.members.contains(member: member) ? Replies.one : Replies.zero
        }
        guard updateCollection(source, .set, clock: clock, { $0.members.removeMember(member) }) == true else {
            return Replies.zero
        }
        notify(.set, "srem", source)
        // A destination that already holds the member is left untouched, as in Redis: its watchers' EXEC still runs.
        if case .found(let set) = liveCollection(destination, .set, clock: clock), set.members.contains(member: member) {
            return Replies.one
        }
        _ = updateCollection(destination, .set, clock: clock) { $0.members.storeMember(member) }
        notify(.set, "sadd", destination)
        return Replies.one
    }

    /// `SINTERCARD numkeys key [key ...] [LIMIT limit]`: the intersection's size, counting up to `limit` (0: all).
    private mutating func intersectionCount(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        guard let keyCount = DecimalInteger.parse(arguments.bytes(at: 1)), keyCount >= 1 else {
            return RESPWriter.error("ERR numkeys should be greater than 0")
        }
        guard keyCount <= arguments.count - 2 else {
            return RESPWriter.error("ERR Number of keys can't be greater than number of args")
        }
        var limit = 0
        var position = 2 + Int(keyCount)
        while position < arguments.count {
            guard ASCII.equals(arguments.bytes(at: position), "limit"), position + 1 < arguments.count else {
                return Replies.syntaxError
            }
            guard let parsed = DecimalInteger.parse(arguments.bytes(at: position + 1)), parsed >= 0 else {
                return RESPWriter.error("ERR LIMIT can't be negative")
            }
            limit = parsed > Int64(Int.max) ? Int.max : Int(parsed)
            position += 2
        }
        let keys = 2..<(2 + Int(keyCount))
        guard let result = combine(.sinter, keys: keys, arguments, clock: clock, limit: limit) else {
            return Replies.wrongType
        }
        return RESPWriter.integer(Int64(result.count))
    }

    /// The intersection, union or difference of the sets at `keys` (a missing key is an empty set); nil when a key
    /// holds another kind. Every key is checked before any work, as in Redis. An intersection walks the smallest set
    /// in its order and stops at `limit` members (0: no limit); a union and a difference keep first-seen order.
    private mutating func combine(
        _ operation: DataCommand, keys: Range<Int>, _ arguments: CommandArguments, clock: Clock, limit: Int = 0
    ) -> MemberTable? {
        var sets: [MemberTable?] = []
        for position in keys {
            switch liveCollection(arguments.key(at: position), .set, clock: clock) {
            case .wrongType: return nil
            case .missing: sets.append(nil)
            case .found(let collection): sets.append(collection.members)
            }
        }
        var result = MemberTable()
        switch operation {
        case .sinter:
            let present = sets.compactMap { $0 }
            guard present.count == sets.count, let smallest = present.indices.min(by: { present[$0].count < present[$1].count })
            else { return result }
            for (member, _) in present[smallest] {
                if present.indices.allSatisfy({ $0 == smallest || present[$0].contains(member: member) }) {
                    result.storeMember(member)
                    if limit > 0 && result.count == limit { break }
                }
            }
        case .sunion:
            for set in sets.compactMap({ $0 }) {
                for (member, _) in set { result.storeMember(member) }
            }
        default:
            guard let first = sets.first ?? nil else { return result }
            let others = sets.dropFirst().compactMap { $0 }
            for (member, _) in first {
                if !others.contains(where: { $0.contains(member: member) }) { result.storeMember(member) }
            }
        }
        return result
    }

    /// Every member of `set` as an array of bulk strings, in its order.
    private static func membersReply(_ set: MemberTable) -> [UInt8] {
        var writer = RESPWriter()
        writer.appendArrayHeader(count: set.count)
        for (member, _) in set { writer.appendBulk(member) }
        return writer.bytes
    }

    private static let notPositive = RESPWriter.error("ERR value is out of range, must be positive")
}
