import Replication

/// Blocking pops (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BZPOPMIN, BZPOPMAX, BLMPOP, BZMPOP) as the store applies them.
///
/// A connection's blocking pop comes in a block entry (`BlockingEntry`). It tries its non-blocking counterpart at
/// once; when that finds nothing, the connection joins `blocked` (replicated state) and the entry's reply says the
/// asker waits. Any entry that writes a key with waiters then serves them once it is done, first come first served
/// while the key holds elements: the waiter's pop runs as part of that entry, on both nodes, and its reply rides in
/// the entry's reply to the runtime, which hands it to the waiting connection (`RoutedReplyEncoding`). A waiter of an
/// earlier primary is dropped when met: only the primary can judge that, and its judgement is recorded. The runtime
/// ends a wait that times out or whose connection closes with an unblock entry, which answers the waiter with a null
/// reply if it still waits (a DEBUG SLEEP, which waits on no key, with +OK: `BlockingCommand`). Between entries nothing
/// is pending: the ready keys and the deliveries belong to one entry.
extension KeyValueStore {
    /// Ticks sweep at most this many waiters of earlier primaries each, oldest first.
    static let staleWaitersSweepLimit = 64

    /// Applies a block entry: the blocking pop of a connection that may wait.
    mutating func applyBlock(_ arguments: CommandArguments, context: inout ApplyContext) -> [UInt8] {
        guard let (connection, inner) = BlockingEntry.blocked(arguments) else {
            return RESPWriter.error("ERR malformed \(BlockingEntry.blockName) entry; nothing was done")
        }
        let command: BlockingCommand
        switch BlockingCommand.parse(inner) {
        case nil: return Replies.unknownCommand(inner)
        case .failure(let error)?: return error.reply
        case .success(let parsed)?: command = parsed
        }
        // Counted as the blocking pop it is, before the pop it runs inside starts (`KeyValueStore.execution`).
        if slowLog != nil, execution == nil {
            execution = CommandStatistics.Execution(slot: CommandStatistics.slot(command.name))
        }
        if let reply = attempt(command, onlyKey: nil, context: &context) { return reply }
        guard blocked.count < BlockedClients.waitersLimit else {
            return RESPWriter.error("ERR too many blocked clients (\(BlockedClients.waitersLimit)); try again later")
        }
        let tenure = context.tenure
        blocked.register(
            connection: connection, tenure: context.observed { tenure }, database: selectedDatabase,
            isRESP3: isReplyingInRESP3, command: command)
        isAskerWaiting = true
        return RESPWriter.nullArray  // not sent: the envelope says the asker waits
    }

    /// Applies an unblock entry: the waiter of `connection`, if it still waits, is answered with a null reply (+OK for a
    /// DEBUG SLEEP).
    mutating func applyUnblock(_ arguments: CommandArguments) -> [UInt8] {
        guard let (connection, isError) = BlockingEntry.unblocked(arguments) else {
            return RESPWriter.error("ERR malformed \(BlockingEntry.unblockName) entry; nothing was done")
        }
        guard let waiter = blocked.waiter(ofConnection: connection) else { return Replies.zero }
        blocked.remove(waiter.serial)
        // A DEBUG SLEEP's wait ending is its answer (`BlockingCommand`).
        let timedOut = waiter.command.name == .debugSleep ? Replies.ok : RESPWriter.nullArray
        let reply = isError ? BlockingEntry.unblockedError : timedOut
        // Redis counts a blocking pop ended by an error as failed, and the error under its prefix (UNBLOCKED).
        if isError {
            slowLog?.commandStatistics.noteLateFailure(CommandStatistics.slot(waiter.command.name), reply: reply)
        } else if waiter.command.name == .debugSleep, let slowLog {
            // Its wait is what Redis's DEBUG SLEEP spends running, and what a slow log is tried out with.
            let nanoseconds = UInt64(BlockingCommand.sleepMicroseconds(waiter.command.arguments[2][...])) &* 1_000
            if slowLog.isSlow(nanoseconds: nanoseconds) {
                slowLog.note(waiter.command.arguments.map { $0[...] }, nanoseconds: nanoseconds)
            }
        }
        deliveries.append((waiter.connection, waiter.isRESP3 ? RESP3.convert(reply, .plain) : reply))
        return Replies.one
    }

    /// A blocking pop outside a block entry (queued in MULTI, inside SESSION EXEC): it never waits, and answers
    /// what its counterpart answers when there is nothing to pop, as Redis's blocking pops do in a transaction.
    mutating func applyWithoutBlocking(_ arguments: CommandArguments, context: inout ApplyContext) -> [UInt8] {
        let inner = Array(arguments)
        switch BlockingCommand.parse(inner) {
        case nil: return Replies.unknownCommand(inner)
        case .failure(let error)?: return error.reply
        case .success(let command)?:
            if let reply = attempt(command, onlyKey: nil, context: &context) { return reply }
            if command.name == .debugSleep { return Replies.ok }
            return command.name == .blmove || command.name == .brpoplpush ? Replies.nullBulk : RESPWriter.nullArray
        }
    }

    /// The blocking pop's work done now: its reply, or nil when there is nothing to pop (it would wait). `onlyKey`
    /// limits it to one of its keys, which got elements.
    private mutating func attempt(
        _ command: BlockingCommand, onlyKey: [UInt8]?, context: inout ApplyContext
    ) -> [UInt8]? {
        // A DEBUG SLEEP has nothing to do but wait, unless its time is none.
        if command.name == .debugSleep { return command.timeout == .zero ? Replies.ok : nil }
        if let counterpart = command.counterpart(onlyKey: onlyKey) {
            let reply = applyCommand(CommandArguments(encoding: counterpart).encoding, context: &context)
            return reply == RESPWriter.nullArray || reply == Replies.nullBulk ? nil : reply
        }
        return Self.withClock(&context) { clock in
            popFirst(command, keys: onlyKey.map { [$0] } ?? command.keys, clock: clock)
        }
    }

    /// BLPOP, BRPOP, BZPOPMIN and BZPOPMAX's work: one element (with its score) from the first of `keys` holding
    /// any, as `[key, element]` or `[key, member, score]`; WRONGTYPE at a key of another kind before it; nil for none.
    private mutating func popFirst(_ command: BlockingCommand, keys: [[UInt8]], clock: Clock) -> [UInt8]? {
        for keyBytes in keys {
            let key = StoreKey(keyBytes)
            switch liveKind(key, clock: clock) {
            case nil: continue
            case command.valueKind: break
            default: return Replies.wrongType
            }
            var writer = RESPWriter()
            if command.valueKind == .list {
                let atHead = command.name == .blpop
                guard let element = updateCollection(key, .list, clock: clock, { list in
                    atHead ? list.elements.popFront() : list.elements.popBack()
                }) else { return Replies.wrongType }
                notify(.list, atHead ? "lpop" : "rpop", key)
                writer.appendArrayHeader(count: 2)
                writer.appendBulk(keyBytes)
                writer.appendBulk(element)
            } else {
                let isMaximum = command.name == .bzpopmax
                guard let popped = updateCollection(key, .sortedSet, clock: clock, { set in
                    Self.pop(from: &set, count: 1, isMaximum: isMaximum)
                }), let (member, score) = popped.first else { return Replies.wrongType }
                notify(.sortedSet, isMaximum ? "zpopmax" : "zpopmin", key)
                writer.appendArrayHeader(count: 3)
                writer.appendBulk(keyBytes)
                writer.appendBulk(member)
                Score.append(score, to: &writer)
            }
            return writer.bytes
        }
        return nil
    }

    // MARK: Serving, once an entry is done

    /// Whether the entry just applied left anything for `finishBlocking`.
    var hasBlockingWork: Bool { isAskerWaiting || !deliveries.isEmpty || !blocked.readyKeys.isEmpty }

    /// Serves the waiters of the keys the entry wrote, and wraps its reply with what the waiters get, or with the news
    /// that the asker waits (`RoutedReplyEncoding`).
    mutating func finishBlocking(_ reply: [UInt8], context: inout ApplyContext) -> [UInt8] {
        serveReadyKeys(context: &context)
        defer {
            isAskerWaiting = false
            deliveries.removeAll()
        }
        guard isAskerWaiting || !deliveries.isEmpty else { return reply }
        return RoutedReplyEncoding.encode(own: isAskerWaiting ? nil : reply, deliveries: deliveries)
    }

    /// Serves the waiters of the keys the entry wrote; before its notifications are wrapped into its reply
    /// (`apply`), so that the waiters' pops are notified in the same release.
    mutating func serveReadyKeys(context: inout ApplyContext) {
        while let key = blocked.takeReadyKey() { serve(key, context: &context) }
    }

    /// Serves the waiters of `key`, first come first, while it holds elements of the kind they pop.
    private mutating func serve(_ key: BlockedClients.Key, context: inout ApplyContext) {
        let previous = selectedDatabase
        selectDatabase(key.database)
        defer { selectDatabase(previous) }
        for serial in blocked.queue(key) {
            guard let waiter = blocked.waiters[serial] else { continue }
            let command = waiter.command
            let kind = Self.withClock(&context) { clock in liveKind(StoreKey(key.key), clock: clock) }
            guard kind == command.valueKind else {
                // Another kind (or none): a waiter for this kind is next only once it changes, which notes it again.
                if kind == nil { break } else { continue }
            }
            let current = context.tenure
            let isMine = context.observed { waiter.tenure == current ? 1 : 0 } == 1
            blocked.remove(serial)
            guard isMine else { continue }
            guard let reply = attempt(command, onlyKey: key.key, context: &context) else { continue }
            let shape = RESP3Shape.of(CommandArguments(encoding: command.arguments))
            deliveries.append((waiter.connection, waiter.isRESP3 ? RESP3.convert(reply, shape) : reply))
        }
    }

    /// A tick's part: drops waiters of earlier primaries, oldest first, up to `staleWaitersSweepLimit`. Waiters
    /// register in order, so the first one that is this primary's ends the sweep.
    mutating func sweepStaleWaiters(context: inout ApplyContext) {
        let current = context.tenure
        for _ in 0..<Self.staleWaitersSweepLimit {
            guard let serial = blocked.order.first, let waiter = blocked.waiters[serial] else { break }
            guard context.observed({ waiter.tenure == current ? 1 : 0 }) == 0 else { break }
            blocked.remove(serial)
        }
    }
}
