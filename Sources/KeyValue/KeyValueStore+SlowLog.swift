import Replication

/// Timing what the store executes for the slow log (`SlowLog`): node-local, outside the digest and the snapshot.
extension KeyValueStore {
    /// A store that notes its slow commands in `slowLog`; restorers it makes, and what FLUSHALL leaves, keep the log.
    public init(slowLog: SlowLog) {
        self.init()
        self.slowLog = slowLog
    }

    /// Executes one entry's command encoded by `KeyValueCommand` and returns its RESP reply, noting it in the slow log
    /// when it took long (`applyTimed`); then serves the waiters of the keys it wrote, whose replies ride in its reply
    /// (`KeyValueStore+Blocking`), as do the PUBLISHes and keyspace notifications held for its release
    /// (`ReleaseEnvelope`, `KeyValueStore+Notifications`).
    public mutating func apply(_ command: [UInt8], context: inout ApplyContext) -> [UInt8] {
        startNotifying()
        var reply = applyTimed(command, context: &context)
        if !blocked.readyKeys.isEmpty {
            serveReadyKeys(context: &context)
            if !emptiedKeys.isEmpty { finishCommandEvents() }
        }
        notifiedEvents = []
        if !heldForRelease.isEmpty {
            reply = ReleaseEnvelope.encode(heldForRelease, reply: reply)
            heldForRelease.removeAll()
        }
        guard hasBlockingWork else { return reply }
        return finishBlocking(reply, context: &context)
    }

    /// Executes one command, noting it in the slow log when it took long (`applyCommand` does the work), and counting
    /// the data command it ran in the slow log's `CommandStatistics`, with the same timing: a failed call when its
    /// reply is an error. An entry that ran no data command (PUBLISH, WATCH, a session's saved reply) counts nothing
    /// here: the protocol counts the local commands, and a saved reply was not run again.
    mutating func applyTimed(_ command: [UInt8], context: inout ApplyContext) -> [UInt8] {
        // Checked, not bound: a reference held across the command (which may change the store) is retained.
        guard slowLog != nil else { return applyNotifying(command, context: &context) }
        execution = nil
        let start = SlowLog.monotonicNanoseconds()
        let reply = applyNotifying(command, context: &context)
        let elapsed = SlowLog.monotonicNanoseconds() &- start
        if slowLog?.isSlow(nanoseconds: elapsed) == true {
            slowLog?.note(Self.slowLogArguments(command), nanoseconds: elapsed)
        }
        // Left set, so that neither the pops serving waiters after this command (`finishBlocking`) nor an
        // enclosing transaction's `applyTimed` counts it again.
        if let execution, !execution.isCounted {
            slowLog?.noteCall(execution.slot, nanoseconds: elapsed, reply: reply)
            self.execution?.isCounted = true
        }
        return reply
    }

    /// `applyCommand`, then the `del` events of the keys it emptied without notifying them (`finishCommandEvents`).
    @inline(__always)
    private mutating func applyNotifying(_ command: [UInt8], context: inout ApplyContext) -> [UInt8] {
        let reply = applyCommand(command, context: &context)
        if !emptiedKeys.isEmpty { finishCommandEvents() }
        return reply
    }

    /// What the slow log shows for `command`: its arguments; `exec`, `watch` or `unwatch` for a transaction entry,
    /// whose commands are noted each on its own.
    private static func slowLogArguments(_ command: [UInt8]) -> [ArraySlice<UInt8>] {
        guard let arguments = try? CommandArguments(decoding: command) else { return [] }  // malformed: nothing to show
        if !arguments.isEmpty, let name = CommandName(arguments.bytes(at: 0)), DatabaseEntry.isEntry(name),
            let entry = DatabaseEntry(arguments)
        {
            return slowLogArguments(entry.command)
        }
        if !arguments.isEmpty, let name = CommandName(arguments.bytes(at: 0)), RESP3Entry.isEntry(name),
            let command = RESP3Entry.command(arguments)
        {
            return slowLogArguments(command)
        }
        if !arguments.isEmpty, let name = CommandName(arguments.bytes(at: 0)), NoReplyEntry.isEntry(name),
            let command = NoReplyEntry.command(arguments)
        {
            return slowLogArguments(command)
        }
        if !arguments.isEmpty, let name = CommandName(arguments.bytes(at: 0)), BlockingEntry.isBlock(name),
            let (_, command) = BlockingEntry.blocked(arguments)
        {
            return command.map { $0[...] }
        }
        if !arguments.isEmpty,
            let kind = CommandName(arguments.bytes(at: 0)).flatMap(TransactionEntry.Kind.init(name:))
        {
            switch kind {
            case .exec: return [Array("exec".utf8)[...]]
            case .watch: return [Array("watch".utf8)[...]] + arguments.indices.dropFirst(2).map { arguments.bytes(at: $0) }
            case .unwatch: return [Array("unwatch".utf8)[...]]
            }
        }
        return arguments.indices.map { arguments.bytes(at: $0) }
    }
}
