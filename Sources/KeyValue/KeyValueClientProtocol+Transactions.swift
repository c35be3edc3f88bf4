import Replication

/// MULTI, EXEC, DISCARD, WATCH and UNWATCH, with Redis 7.0's replies and errors.
///
/// The queue lives in the session until EXEC, which sends it as one log entry (`TransactionEntry.exec`): both nodes
/// apply it whole, at one point of the log, and its reply leaves under the output rule like any other. Node-local
/// commands queued with it (PING, ECHO, CONFIG GET, CLIENT SETNAME) are answered when EXEC arrives and their replies
/// travel in the entry, so the EXEC reply is one array built alike on both nodes; a DEBUG whose work is the store's
/// (RELOAD, OBJECT, SET-ACTIVE-EXPIRE) runs in the entry like a data command. A queued PUBLISH or PUBSUB travels
/// in the entry too and is answered when the reply is released (`ReleaseEnvelope`). WATCH and the end of a watch are
/// entries too, so the store sees them in log order against every write (`WatchedKeys`).
extension KeyValueClientProtocol {
    /// `-EXECABORT ...` for a transaction a queued command was refused in (Redis's `CLIENT_DIRTY_EXEC`).
    static let execAbortedReply = RESPWriter.error("EXECABORT Transaction discarded because of previous errors.")

    /// Inside MULTI: queues `arguments` with `+QUEUED`, or refuses it with its error and flags the transaction, as
    /// Redis does; nil for the commands that run at once even inside a transaction (EXEC, DISCARD, MULTI, WATCH, QUIT,
    /// RESET), which are routed as usual.
    func queueInTransaction(
        _ arguments: CommandArguments, session: inout Session, status: NodeStatus
    ) -> ClientRequest? {
        guard !arguments.isEmpty else { return nil }
        let name = CommandName(arguments.bytes(at: 0))
        if let command = name.flatMap(KeyValueFrontend.LocalCommand.init(name:)) {
            guard command.accepts(argumentCount: arguments.count) else {
                return refuseQueueing(Replies.wrongArity(command.rawValue), session: &session)
            }
            if KeyValueFrontend.runsInsideTransaction(command) { return nil }
            if command == .publish {
                // Its message leaves with the EXEC's reply, from its place in the entry (`TransactionEntry.Item`).
                guard status.isServing else {
                    return refuseQueueing(refusal(status, isRead: false), session: &session)
                }
                session.connection.lastCommand = .local(command, subcommand: nil)
                return queue(.atRelease(arguments.encoding), session: &session)
            }
            if command == .pubsub {
                // The subcommand is checked now, as Redis checks it when queueing. Its answer comes at the release,
                // from the connections listening then: the moment the transaction's own messages reach them.
                switch KeyValueFrontend.pubsubCommand(Array(arguments)) {
                case .connections:
                    session.connection.lastCommand = .local(command, subcommand: nil)
                    return queue(.atRelease(arguments.encoding), session: &session)
                case .local(let reply) where reply.first == UInt8(ascii: "-"):
                    return refuseQueueing(reply, session: &session)
                default:
                    break  // HELP: a node-local reply, answered when EXEC arrives
                }
            }
            if KeyValueFrontend.isRefusedInsideTransaction(command) {
                let refused = RESPWriter.error("ERR Command not allowed inside a transaction")
                return refuseQueueing(refused, session: &session)
            }
            if command == .debug {
                switch KeyValueFrontend.debugInTransaction(Array(arguments)) {
                case .entry(let isRead):
                    guard status.isServing else {
                        return refuseQueueing(refusal(status, isRead: isRead), session: &session)
                    }
                    session.connection.lastCommand = .local(command, subcommand: nil)
                    return queue(.entry(arguments), session: &session)
                case .refused(let reply):
                    return refuseQueueing(reply, session: &session)
                case .local:
                    break
                }
            }
            session.connection.lastCommand = .local(command, subcommand: nil)
            return queue(.local(arguments), session: &session)
        }
        guard let command = name.flatMap(DataCommand.init(name:)) else {
            return refuseQueueing(Replies.unknownCommand(Array(arguments)), session: &session)
        }
        guard command.accepts(argumentCount: arguments.count) else {
            return refuseQueueing(Replies.wrongArity(command.rawValue), session: &session)
        }
        guard status.isServing else {
            return refuseQueueing(refusal(status, isRead: command.isRead), session: &session)
        }
        if let refusal = memoryLimit.refusal(command, statistics: status.machineStatistics) {
            return refuseQueueing(refusal, session: &session)
        }
        session.connection.lastCommand = .data(command)
        if command.isRefusedOutOfMemory { session.transaction?.mayAddData = true }
        return queue(.data(arguments.encoding), session: &session)
    }

    /// Answers a transaction command that runs at once.
    func answer(
        _ request: TransactionRequest, session: inout Session, status: NodeStatus, digest: () -> UInt64?
    ) -> ClientRequest {
        switch request {
        case .multi:
            guard session.transaction == nil else {
                return .local(reply: RESPWriter.error("ERR MULTI calls can not be nested"))
            }
            session.transaction = Transaction()
            session.connection.queuedCommandCount = 0
            return .local(reply: Replies.ok)
        case .watch(let keys):
            guard session.transaction == nil else {
                return .local(reply: RESPWriter.error("ERR WATCH inside MULTI is not allowed"))
            }
            guard status.isServing else { return .local(reply: refusal(status, isRead: true)) }
            let token = session.watchToken ?? WatchToken(
                epoch: status.epoch, clientID: session.clientID, cycle: session.watchCycles)
            // The keys are the selected database's: the entry names it.
            let entry = DatabaseEntry.encoding(
                TransactionEntry.watch(token, keys: keys).encoded, in: session.connection.database)
            guard entry.count <= replicatedBytesLimit else {
                return .local(reply: RESPWriter.error(
                    "ERR WATCH's \(entry.count) bytes do not fit one log entry (\(replicatedBytesLimit) bytes)"))
            }
            if session.watchToken == nil { session.watchCycles += 1 }
            session.watchToken = token
            return .replicated(entry)
        case .unwatch:
            return endWatch(session: &session, status: status, reply: Replies.ok)
        case .discard:
            guard session.transaction != nil else {
                return .local(reply: RESPWriter.error("ERR DISCARD without MULTI"))
            }
            endTransaction(of: &session)
            return endWatch(session: &session, status: status, reply: Replies.ok)
        case .exec:
            return exec(session: &session, status: status, digest: digest)
        }
    }

    /// EXEC: EXECABORT after a refused command; otherwise one entry holding the queue and the watch, or, with no data
    /// command, PUBLISH, PUBSUB or watch, the node-local replies at once. With a PUBLISH or PUBSUB the entry goes out
    /// as a broadcast, whose release delivers the messages and writes their counts into the reply; so a node that
    /// does not serve aborts even a transaction whose only such command is a PUBSUB, which alone it would answer.
    private func exec(session: inout Session, status: NodeStatus, digest: () -> UInt64?) -> ClientRequest {
        guard let transaction = session.transaction else {
            return .local(reply: RESPWriter.error("ERR EXEC without MULTI"))
        }
        endTransaction(of: &session)
        if transaction.isFlagged {
            return endWatch(session: &session, status: status, reply: Self.execAbortedReply)
        }
        // Redis weighs the memory again at EXEC: the limit may have been set, or passed, since the commands queued.
        if transaction.mayAddData, memoryLimit.isExceeded(statistics: status.machineStatistics) {
            let reply = Self.execAborted(because: MemoryLimit.outOfMemoryReply)
            return endWatch(session: &session, status: status, reply: reply)
        }
        let token = session.watchToken
        session.watchToken = nil
        var items: [TransactionEntry.Item] = []
        items.reserveCapacity(transaction.queued.count)
        for queued in transaction.queued {
            switch queued {
            case .data(let encoding):
                // In the database selected when EXEC reaches it: a SELECT queued before it has run by then.
                items.append(.command(DatabaseEntry.encoding(encoding, in: session.connection.database)))
            case .local(let arguments):
                items.append(.reply(localReply(arguments, session: &session, status: status, digest: digest)))
            case .atRelease(let encoding):
                items.append(.atRelease(encoding))
            case .entry(let arguments):
                // In the connection's database, as DEBUG OBJECT sent alone reads its key; its reply is the store's.
                items.append(.command(DatabaseEntry.encoding(arguments.encoding, in: session.connection.database)))
                statistics.noteCall(CommandStatistics.slot(of: arguments), nanoseconds: 0, reply: [])
            }
        }
        if !transaction.hasData && !transaction.hasAtRelease && token == nil {
            return .local(reply: RESPWriter.array(items.map { if case .reply(let reply) = $0 { reply } else { [] } }))
        }
        // The node stopped serving since the commands were queued. A watch is left to the store's bounds.
        guard status.isServing else {
            return .local(reply: Self.execAborted(because: refusal(status, isRead: false)))
        }
        let entry = RESP3Entry.encoding(
            TransactionEntry.exec(token, items: items).encoded, protocolVersion: session.connection.protocolVersion)
        guard entry.count <= replicatedBytesLimit else {
            return .local(reply: Self.execAborted(because: RESPWriter.error(
                "ERR the transaction's \(entry.count) bytes do not fit one log entry (\(replicatedBytesLimit) bytes)")))
        }
        return transaction.hasAtRelease ? .broadcast(entry) : .replicated(entry)
    }

    /// Leaves MULTI: the queue goes, and CLIENT LIST says so.
    func endTransaction(of session: inout Session) {
        session.transaction = nil
        session.connection.queuedCommandCount = nil
    }

    /// Ends the connection's watch, if any, with an entry that answers `reply`; `reply` at once without a watch, or
    /// where no entry can be made (the node does not serve; the store then drops the watch in time).
    private func endWatch(session: inout Session, status: NodeStatus, reply: [UInt8]) -> ClientRequest {
        guard let token = session.watchToken else { return .local(reply: reply) }
        session.watchToken = nil
        guard status.isServing else { return .local(reply: reply) }
        return .replicated(TransactionEntry.unwatch(token, reply: reply).encoded)
    }

    /// `+QUEUED`, or the refusal when the transaction is full.
    private func queue(_ command: Transaction.Queued, session: inout Session) -> ClientRequest {
        guard session.transaction?.append(command, bytesLimit: replicatedBytesLimit) == true else {
            return refuseQueueing(
                RESPWriter.error(
                    "ERR the transaction is full (\(Transaction.commandsLimit) commands or \(replicatedBytesLimit)"
                        + " bytes, what one log entry holds); EXEC will abort"),
                session: &session)
        }
        session.connection.queuedCommandCount = session.transaction?.queued.count
        return .local(reply: RESPWriter.simpleString("QUEUED"))
    }

    /// `error`, and the transaction flagged so that EXEC aborts (Redis's `flagTransaction`).
    private func refuseQueueing(_ error: [UInt8], session: inout Session) -> ClientRequest {
        session.transaction?.isFlagged = true
        return .local(reply: error)
    }

    /// What a node that does not serve answers a data command: READONLY naming the primary, TRYAGAIN once stopped.
    private func refusal(_ status: NodeStatus, isRead: Bool) -> [UInt8] {
        if status.role == .stopped {
            return rejectionReply(reason: "this node has stopped (\(status.reason))", status: status)
        }
        return KeyValueFrontend.readOnlyReply(status, isRead: isRead)
    }

    /// `-EXECABORT Transaction discarded because of: <error>`, Redis's words for an EXEC refused as a whole.
    static func execAborted(because error: [UInt8]) -> [UInt8] {
        var message = Array("EXECABORT Transaction discarded because of: ".utf8)
        var text = error.first == UInt8(ascii: "-") ? error.dropFirst() : error[...]
        while let last = text.last, last == 13 || last == 10 { text = text.dropLast() }
        message.append(contentsOf: text)
        var writer = RESPWriter()
        writer.appendError(message)
        return writer.bytes
    }

    /// The reply of a queued node-local command, run now that EXEC arrived, with its effect on the session; counted
    /// in `statistics` as a call, as Redis counts each command EXEC runs.
    private func localReply(
        _ arguments: CommandArguments, session: inout Session, status: NodeStatus, digest: () -> UInt64?
    ) -> [UInt8] {
        let started = ClientConnection.monotonicNanoseconds()
        let reply = runQueued(arguments, session: &session, status: status, digest: digest)
        statistics.noteCall(
            CommandStatistics.slot(of: arguments), nanoseconds: ClientConnection.monotonicNanoseconds() &- started,
            reply: reply)
        return reply
    }

    private func runQueued(
        _ arguments: CommandArguments, session: inout Session, status: NodeStatus, digest: () -> UInt64?
    ) -> [UInt8] {
        let request = KeyValueFrontend.route(
            arguments, status: status, digest: { digest() ?? 0 }, connection: &session.connection, service: service,
            statistics: statistics, memoryLimit: memoryLimit)
        switch request {
        case .local(let reply):
            return session.connection.shaped(reply, for: arguments)
        case .authenticate(let username, let password):
            let outcome = Authentication.authenticate(
                username: username, password: password, required: requiredPassword,
                wasAuthenticated: session.isAuthenticated)
            session.isAuthenticated = outcome.isAuthenticated
            return outcome.reply
        case .setName(let name):
            session.connection.name = name.isEmpty ? nil : name
            return Replies.ok
        case .hello(let version, let username, let password, let name):
            return hello(
                protocolVersion: version, username: username, password: password, name: name, session: &session,
                status: status)
        case .configuration(let arguments):
            return session.connection.shaped(
                KeyValueFrontend.configCommand(arguments, status: status, targets: configTargets), for: arguments)
        case .slowLog(let arguments):
            return session.connection.shaped(
                KeyValueFrontend.slowLogCommand(arguments, slowLog: slowLog), for: arguments)
        case .connections(let arguments):
            // The runtime's view of every connection is not at hand inside EXEC: the connection sees itself alone,
            // and a CLIENT KILL queued in a transaction closes nothing.
            let asker = OpenConnection(
                id: session.clientID, session: session, peerAddress: "", localAddress: "", descriptor: -1)
            return answer(
                connectionsQuery: KeyValueCommand.encode(arguments), from: asker, among: [asker], status: status
            ).reply
        case .replyMode:
            // Inside MULTI, as in Redis, CLIENT REPLY is queued; its effect would have to come with EXEC's reply.
            return RESPWriter.error("ERR CLIENT REPLY inside MULTI is not supported; send it outside the transaction")
        case .replicated, .blocking, .quit, .subscription, .reset, .transaction, .monitor, .openSession, .publish:
            // Never queued: data commands queue as themselves, and these run at once or are refused inside MULTI.
            return RESPWriter.error("ERR this command cannot run inside a transaction")
        }
    }
}
