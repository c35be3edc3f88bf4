import Replication

/// Reads answered without log entries (`StateMachine.read`): GET and its relatives, when no key they name has expired.
///
/// A read runs the ordinary command on a copy of the store. Having checked that none of its keys has expired, nothing
/// in the command deletes (lazy expiry is the only write a read command makes), so the copy shares every shard and
/// copy-on-write never triggers: the reply is the one the logged command would give, at the cost of a lookup. A read
/// that meets an expired key is logged as before, so that the deletion happens on both nodes alike. GET, the commonest
/// read by far, is answered with a single lookup of its key instead. A write that would change nothing is answered
/// here too (`KeyValueStore+UnchangingWrites.swift`).
extension KeyValueStore {
    /// Whether `command` may be answered this way; KEYS is not (it meets expired keys anywhere), nor are RANDOMKEY
    /// and TIME, which read recorded randomness or time.
    static func isAnsweredWithoutEntry(_ command: DataCommand) -> Bool {
        switch command {
        case .get, .mget, .exists, .type, .strlen, .ttl, .pttl, .expiretime, .pexpiretime, .dbsize, .scan: true
        case .getrange, .substr, .getbit, .bitcount, .bitpos, .touch, .object, .memory, .lcs, .dump: true
        // A SORT that STOREs is declined in `readDecoded`, once its options are read.
        case .sort, .sortReadOnly: true
        default: isCollectionReadWithoutEntry(command)
        }
    }

    /// Appends the reply to a read command none of whose keys has expired and returns true; false for anything else,
    /// which becomes an entry.
    public func read(_ command: [UInt8], into reply: inout [UInt8], context: inout ApplyContext) -> Bool {
        if let key = CommandArguments.getKey(command) {
            return countingGet(into: &reply) { reply in
                getWithoutEntry(command, keyAt: key, into: &reply, clock: { context.wallClockNanoseconds() })
            }
        }
        // Most replicated commands are writes: their name alone sends them to `apply`, before the rest is decoded.
        guard let (commandName, secondArgument) = CommandArguments.peek(command) else { return false }
        guard let (name, ordinal) = DataCommand.entry(name: commandName) else {
            if RESP3Entry.isEntry(commandName) { return readInRESP3(command, into: &reply, context: &context) }
            if commandName == Self.debugName {
                // Malformed: `apply` says what is wrong.
                guard let arguments = try? CommandArguments(decoding: command) else { return false }
                return readDebug(arguments, into: &reply, context: &context)
            }
            return DatabaseEntry.isEntry(commandName) && readInDatabase(command, into: &reply, context: &context)
        }
        guard Self.isAnsweredWithoutEntry(name) || Self.mayChangeNothing(name) else { return false }
        // A pop or deletion of one key that is stored changes it (or deletes it, expired): an entry, known from one
        // lookup where `readDecoded` would decode the command and look the key up twice.
        if let key = secondArgument, Self.changesWhenStored(name), isPresent(StoreKey(viewing: command[key])) {
            return false
        }
        // A GET whose key the peek found needs no decoding: its two arguments are GET's arity. It returns before the
        // caching clock of `readDecoded` exists: built alongside, that clock's captured state cost GET a heap box.
        if name == .get, let key = secondArgument {
            return countingGet(into: &reply) { reply in
                getWithoutEntry(command, keyAt: key, into: &reply, clock: { context.wallClockNanoseconds() })
            }
        }
        return readDecoded(name, ordinal: ordinal, command, into: &reply, context: &context)
    }

    /// DEBUG's name, for the subcommands answered as reads (`KeyValueStore+Debug`).
    private static let debugName = CommandName(Array("debug".utf8))!

    /// `get`, counted in the slow log's `CommandStatistics` as a GET when it answers: a read answered here is a call
    /// this node ran, as much as one applied from the log. Its two clock reads are the whole cost a GET pays.
    @inline(__always)
    private func countingGet(into reply: inout [UInt8], _ get: (inout [UInt8]) -> Bool) -> Bool {
        guard let statistics = slowLog?.commandStatistics else { return get(&reply) }
        let start = SlowLog.monotonicNanoseconds()
        let offset = reply.count
        guard get(&reply) else { return false }
        statistics.noteCall(
            CommandStatistics.getSlot, nanoseconds: SlowLog.monotonicNanoseconds() &- start, replyAt: offset, of: reply)
        return true
    }

    /// `read` for every command but a GET found by the peek: decodes the command, checks its keys, and runs it on a
    /// copy of the store that shares every shard, or answers a write that would change nothing.
    @inline(never)
    private func readDecoded(
        _ name: DataCommand, ordinal: Int, _ command: [UInt8], into reply: inout [UInt8], context: inout ApplyContext
    ) -> Bool {
        let start = slowLog == nil ? 0 : SlowLog.monotonicNanoseconds()
        var cachedNanoseconds: Int64?
        func clock() -> Int64 {
            if let cachedNanoseconds { return cachedNanoseconds }
            let now = context.wallClockNanoseconds()
            cachedNanoseconds = now
            return now
        }
        // Malformed bytes and a wrong arity go to `apply` too, which says what is wrong.
        guard let arguments = try? CommandArguments(decoding: command), name.accepts(argumentCount: arguments.count)
        else { return false }
        if name == .get {
            return countingGet(into: &reply) { getWithoutEntry(arguments.key(at: 1), into: &$0, clock: clock) }
        }
        guard let keys = readKeyPositions(name, arguments) else { return false }
        for position in keys where hasExpired(arguments.key(at: position), clock: clock) { return false }
        // A SORT whose options are refused is answered here with `apply`'s error (`try?`); one that STOREs writes.
        if name == .sort, (try? SortRequest(arguments, isReadOnly: false))?.destination != nil { return false }
        let answer =
            Self.mayChangeNothing(name)
            ? unchangingReply(name, arguments, clock: clock) : answerOnCopy(name, arguments, clock: clock)
        guard let answer else { return false }
        reply.append(contentsOf: answer)
        if let statistics = slowLog?.commandStatistics {
            statistics.noteCall(
                CommandStatistics.slot(name, ordinal: ordinal, arguments: arguments),
                nanoseconds: SlowLog.monotonicNanoseconds() &- start, reply: answer)
        }
        return true
    }

    /// The reply of `name` run on a copy of the store, which shares every shard: a command that writes nothing copies
    /// nothing. Nil when the copy lost a key: SORT's BY and GET patterns name keys only found as it runs, and one that
    /// had expired was deleted from the copy, so the read becomes an entry, which deletes it on both nodes.
    func answerOnCopy(_ name: DataCommand, _ arguments: CommandArguments, clock: Clock) -> [UInt8]? {
        var view = self
        let answer =
            if let kind = name.collectionKind {
                view.executeCollection(
                    kind, name, arguments, clock: clock,
                    random: { preconditionFailure("a read without an entry drew randomness") })
            } else {
                view.execute(name, arguments, clock: clock)
            }
        guard view.count == count else { return nil }
        assert(view.digestSum == digestSum, "a read changed the store")
        return answer
    }

    /// `read` for a `DatabaseEntry`: its command, read on a copy of the store with its database selected (which
    /// shares every shard, as `readDecoded`'s copy does).
    @inline(never)
    private func readInDatabase(_ command: [UInt8], into reply: inout [UInt8], context: inout ApplyContext) -> Bool {
        // Malformed: `apply` says what is wrong.
        guard let arguments = try? CommandArguments(decoding: command), let entry = DatabaseEntry(arguments) else {
            return false
        }
        var view = self
        view.selectDatabase(entry.database)
        return view.read(entry.command, into: &reply, context: &context)
    }

    /// Appends GET's reply, as `get` gives it, from one lookup of `key`; false, appending nothing, when the key has
    /// expired.
    private func getWithoutEntry(_ key: StoreKey, into reply: inout [UInt8], clock: Clock) -> Bool {
        key.bytes.withUnsafeBytes { getWithoutEntry($0, into: &reply, clock: clock) }
    }

    /// The same, for the key at `range` in `command`, read in place: a `StoreKey` viewing it would retain the command.
    private func getWithoutEntry(
        _ command: [UInt8], keyAt range: Range<Int>, into reply: inout [UInt8], clock: Clock
    ) -> Bool {
        command.withUnsafeBytes { bytes in
            getWithoutEntry(UnsafeRawBufferPointer(rebasing: bytes[range]), into: &reply, clock: clock)
        }
    }

    /// The lookup of both, for the key whose bytes `key` points at.
    private func getWithoutEntry(_ key: UnsafeRawBufferPointer, into reply: inout [UInt8], clock: Clock) -> Bool {
        let hash = ShardHash.of(key)
        let index = shardIndex(hash: hash)
        // Through the table each time: a local copy of the shard would retain each of its arrays.
        guard let slot = shards[index].find(key, hash: hash) else {
            reply.append(contentsOf: Replies.nullBulk)
            return true
        }
        if let expiresAt = shards[index].expiry(at: slot), Self.milliseconds(clock()) > expiresAt { return false }
        guard let value = shards[index].value(at: slot) else {
            reply.append(contentsOf: Replies.wrongType)
            return true
        }
        RESPWriter.appendBulk(value, to: &reply)
        return true
    }

    /// Whether `key` exists with a TTL that has passed (it is due for deletion).
    func hasExpired(_ key: StoreKey, clock: Clock) -> Bool {
        let hash = ShardHash.of(key.bytes)
        let index = shardIndex(hash: hash)
        guard let slot = shards[index].find(key, hash: hash), let expiresAt = shards[index].expiry(at: slot) else {
            return false
        }
        return Self.milliseconds(clock()) > expiresAt
    }
}
