import Replication

/// RESP2 on the client port: the key-value store's `ClientProtocol`, for the node runtime.
///
/// Requests are cut out by `RESPParser` and sorted by `KeyValueFrontend`; this type adds only what the runtime
/// needs around them: parser limits that keep every accepted command inside one log entry frame, an answer for
/// `DEBUG DIGEST` on a node without state, and the refusal a client gets when a command was not executed.
public struct KeyValueClientProtocol: ClientProtocol {
    /// The state machine replicated commands are for: the key-value store.
    public typealias Machine = KeyValueStore

    /// One connection's parser, its id and name, whether it may send commands yet, and what it listens to.
    public struct Session: Sendable {
        var parser: RESPParser
        /// The id, name, ages and last command that CLIENT and HELLO report.
        var connection: ClientConnection
        var clientID: UInt64 { connection.id }
        /// True from the start when no password is required; otherwise set by a successful AUTH.
        var isAuthenticated: Bool
        /// The Pub/Sub channels and patterns it subscribed to; while any are held, the connection is in Redis's
        /// subscribed mode (`SubscribedMode`).
        var subscriptions = Subscriptions()
        /// The commands queued since MULTI; nil outside a transaction.
        var transaction: Transaction?
        /// The watch since the connection's first WATCH, until EXEC, DISCARD, UNWATCH or RESET; nil when none.
        var watchToken: WatchToken?
        /// Watches this connection began, so that each gets a token of its own.
        var watchCycles: UInt64 = 0
        /// What CLIENT REPLY chose: replies on, off, or off for the next request only.
        var replyMode = ReplyMode.on
    }

    /// Bounds on one request; a replicated command travels as one log entry, carried in parts on the logging
    /// channel (`Frame.entryPartBytes`), so these bound the largest entry too.
    public let parserLimits: RESPParser.Limits
    /// The password a connection must give with AUTH before any other command (Redis's `requirepass`); nil: none.
    ///
    /// It lives here, in the connection's protocol, and not in the replicated state: it is this node's
    /// configuration, like the port it listens on, and the backup's clients must authenticate too.
    public let requiredPassword: ClientPassword?
    /// The service `SENTINEL` answers for and `+switch-master` names (`--service-name`).
    public let service: SentinelService
    /// This node's slow log, which its store notes into (give the store the same one) and SLOWLOG and CONFIG read.
    public let slowLog: SlowLog
    /// This node's `notify-keyspace-events`, which CONFIG sets and its store reads (give the store the same one).
    public let keyspaceEvents: KeyspaceEventSettings
    /// Redis's encoding thresholds as CONFIG SET left them on this node (they tune nothing here).
    public let encodingSettings = EncodingSettings()
    /// Redis's `maxmemory` on this node, past which writes that may add data are refused.
    public let memoryLimit: MemoryLimit
    /// What every connection asks, for MONITOR.
    public let monitorFeed = MonitorFeed()
    /// The session bounds this node puts into the `SESSION OPEN` entries it appends (`--session-window`,
    /// `--max-sessions`, `--session-reply-bytes`, `--session-timeout`).
    public let sessionLimits: SessionLimits

    /// Redis's limits: 512 MiB per argument (`proto-max-bulk-len`), 1,048,576 arguments, 64 KiB inline; and, unlike
    /// Redis, whose bound is the 1 GiB query buffer, 513 MiB of arguments per request: the largest argument and a
    /// mebibyte for the command's name and keys.
    ///
    /// That one is lower so that a request and its framing fit the runtime's default 1 GiB query buffer
    /// (`replicatedBytesLimit` is about 518 MiB), and so that a log entry, held in memory a few times over on its way
    /// to the backup, stays a fraction of it.
    public static let defaultParserLimits = RESPParser.Limits(
        argumentsLimit: 1 << 20, bulkBytesLimit: 512 << 20, inlineBytesLimit: 64 << 10, requestBytesLimit: 513 << 20)

    /// The protocol with `parserLimits`, requiring `requiredPassword` if given, answering SENTINEL for `service`,
    /// SLOWLOG from `slowLog`, `notify-keyspace-events` in `keyspaceEvents`, opening sessions under `sessionLimits`,
    /// refusing writes past `memoryLimit`; the runtime checks at startup that `replicatedBytesLimit` fits a log entry
    /// frame.
    public init(
        parserLimits: RESPParser.Limits = KeyValueClientProtocol.defaultParserLimits,
        requiredPassword: ClientPassword? = nil, service: SentinelService = SentinelService(),
        slowLog: SlowLog = SlowLog(), keyspaceEvents: KeyspaceEventSettings = KeyspaceEventSettings(),
        sessionLimits: SessionLimits = .defaults, memoryLimit: MemoryLimit = MemoryLimit()
    ) {
        self.memoryLimit = memoryLimit
        self.keyspaceEvents = keyspaceEvents
        self.sessionLimits = sessionLimits
        self.parserLimits = parserLimits
        self.requiredPassword = requiredPassword
        self.service = service
        self.slowLog = slowLog
    }

    /// What CONFIG SET changes on this node.
    var configTargets: KeyValueFrontend.ConfigTargets {
        KeyValueFrontend.ConfigTargets(
            slowLog: slowLog, encodings: encodingSettings, memory: memoryLimit, keyspaceEvents: keyspaceEvents)
    }

    /// The largest `KeyValueCommand` encoding the limits allow: the arguments' bytes (multi-bulk requests count
    /// them against `requestBytesLimit`; an inline request is one line of at most `inlineBytesLimit`), plus a
    /// varint length per argument and the argument count.
    public var replicatedBytesLimit: Int {
        let argumentBytes = max(parserLimits.requestBytesLimit, parserLimits.inlineBytesLimit)
        let lengthBytes = Varint.byteCount(UInt64(parserLimits.bulkBytesLimit))
        return argumentBytes + parserLimits.argumentsLimit * lengthBytes + Varint.byteCount(UInt64(Int.max))
            + DatabaseEntry.overheadBytesLimit + RESP3Entry.overheadBytesLimit + BlockingEntry.overheadBytesLimit
            + NoReplyEntry.overheadBytesLimit
    }

    /// An empty parser for a new connection, remembering `clientID` for `CLIENT ID`.
    public func makeSession(clientID: UInt64) -> Session {
        makeSession(clientID: clientID, peerAddress: nil)
    }

    /// An empty parser for a new connection, remembering `clientID` for `CLIENT ID` and `peerAddress` for MONITOR.
    public func makeSession(clientID: UInt64, peerAddress: String?) -> Session {
        var connection = ClientConnection(id: clientID)
        connection.peerAddress = peerAddress
        return Session(
            parser: RESPParser(limits: parserLimits), connection: connection, isAuthenticated: requiredPassword == nil)
    }

    /// The bytes the parser holds for requests it has not returned yet, the incomplete one's arguments included.
    public func bufferedByteCount(of session: Session) -> Int {
        session.parser.queryBufferByteCount
    }

    /// Hands the bytes read from the connection to its parser.
    public func append(_ bytes: UnsafeRawBufferPointer, to session: inout Session) {
        session.parser.append(bytes)
        // Redis's `idle=` counts from the last interaction: once per read, not once per pipelined request.
        session.connection.lastRequestAtNanoseconds = ClientConnection.monotonicNanoseconds()
    }

    /// The next complete request, routed by `KeyValueFrontend`; nil until more bytes arrive. After `CLIENT REPLY OFF`
    /// (or `SKIP`, for one request) its reply is silenced (`KeyValueClientProtocol+ReplyMode`).
    ///
    /// A protocol error is `.malformed` with Redis's error reply. A stopped node answers data commands itself with a
    /// refusal, and a node without state refuses `DEBUG DIGEST` rather than report an empty store's digest.
    public func nextRequest(
        from session: inout Session, status: NodeStatus, digest: () -> UInt64?
    ) -> ClientRequest? {
        var spareBuffers: [[UInt8]] = []
        return nextRequest(from: &session, status: status, spareBuffers: &spareBuffers, digest: digest)
    }

    /// `nextRequest(from:status:digest:)`, encoding a request into a spare buffer where one is large enough.
    public func nextRequest(
        from session: inout Session, status: NodeStatus, spareBuffers: inout [[UInt8]], digest: () -> UInt64?
    ) -> ClientRequest? {
        let mode = session.replyMode
        guard let request = answerNext(from: &session, status: status, spareBuffers: &spareBuffers, digest: digest)
        else { return nil }
        // A CLIENT REPLY that changed the mode answers as it says itself (ON: OK; OFF and SKIP: nothing).
        guard mode != .on, session.replyMode == mode else { return request }
        if mode == .skipNext { session.replyMode = .on }
        return Self.silenced(request)
    }

    /// `nextRequest` before CLIENT REPLY's silencing; inlined, so the request moves out once, as before the split.
    @inline(__always)
    private func answerNext(
        from session: inout Session, status: NodeStatus, spareBuffers: inout [[UInt8]], digest: () -> UInt64?
    ) -> ClientRequest? {
        let arguments: CommandArguments
        // Redis's `qbuf=` while a command runs counts the command itself: the bytes from its start on.
        let queryBufferBytes = session.parser.queryBufferByteCount
        do {
            guard let next = try session.parser.nextArguments(spareBuffers: &spareBuffers) else { return nil }
            arguments = next
        } catch {
            statistics.noteError(error.reply)
            return .malformed(reply: error.reply)
        }
        // One load and a branch per request; everything else about authentication is off the hot path.
        if !session.isAuthenticated, let refusal = Authentication.refusal(arguments) {
            statistics.noteRejection(CommandStatistics.slot(of: arguments), reply: refusal)
            return .local(reply: refusal)
        }
        if monitorFeed.isActive { noteForMonitors(arguments, session: session) }
        // Redis limits a subscribed connection's commands in RESP2 only: RESP3 tells pushes from replies apart.
        if !session.subscriptions.isEmpty, session.connection.protocolVersion == 2,
            let reply = SubscribedMode.reply(to: arguments)
        {
            statistics.noteRejection(CommandStatistics.slot(of: arguments), reply: reply)
            return .local(reply: reply)
        }
        if session.transaction != nil, let queued = queueInTransaction(arguments, session: &session, status: status) {
            // Queued is not run (EXEC runs it); refused while queueing is Redis's rejected call.
            if case .local(let reply) = queued, CommandStatistics.isError(reply) {
                statistics.noteRejection(CommandStatistics.slot(of: arguments), reply: reply)
            }
            return queued
        }
        // A joining node holds no state: a digest of "nothing" would look like a real, empty store.
        if arguments.count == 2, ASCII.equals(arguments.bytes(at: 0), "debug"),
            ASCII.equals(arguments.bytes(at: 1), "digest"), digest() == nil
        {
            let reply = RESPWriter.error("ERR this node holds no replicated state yet (\(status.role.rawValue))")
            statistics.noteCall(CommandStatistics.slot(of: arguments), nanoseconds: 0, reply: reply)
            return .local(reply: reply)
        }
        if status.role == .stopped, Self.isDataCommand(arguments) {
            // A stopped node is not a backup: READONLY would send the client to wait for a role this node will
            // never have again. TRYAGAIN promises the command did nothing and names the node that took over.
            let reply = rejectionReply(reason: "this node has stopped (\(status.reason))", status: status)
            statistics.noteRejection(CommandStatistics.slot(of: arguments), reply: reply)
            return .local(reply: reply)
        }
        if !session.subscriptions.isEmpty {
            session.connection.channelCount = session.subscriptions.channels.count
            session.connection.patternCount = session.subscriptions.patterns.count
        } else {
            session.connection.channelCount = 0
            session.connection.patternCount = 0
        }
        session.connection.queryBufferBytes = queryBufferBytes
        // Route notes the command once it knows it and its arity is right: left as it was means a refusal.
        let identifiedBefore = session.connection.identifiedCount
        let routed = KeyValueFrontend.route(
            arguments, status: status, digest: { digest() ?? 0 }, connection: &session.connection, service: service,
            statistics: statistics, memoryLimit: memoryLimit)
        let isIdentified = session.connection.identifiedCount != identifiedBefore
        let request = perform(routed, arguments: arguments, session: &session, status: status, digest: digest)
        noteOutcome(request, isIdentified: isIdentified, arguments: arguments, session: &session)
        return request
    }

    /// Carries out what `KeyValueFrontend.route` decided for `arguments`.
    @inline(__always)
    private func perform(
        _ routed: consuming KeyValueRequest, arguments: CommandArguments, session: inout Session, status: NodeStatus,
        digest: () -> UInt64?
    ) -> ClientRequest {
        switch routed {
        case .replicated(let bytes):
            if let refusal = memoryRefusal(arguments, connection: session.connection, status: status) { return .local(reply: refusal) }
            return .replicated(
                RESP3Entry.encoding(
                    DatabaseEntry.encoding(bytes, in: session.connection.database),
                    protocolVersion: session.connection.protocolVersion))
        case .blocking(let bytes, let timeout):
            if let refusal = memoryRefusal(arguments, connection: session.connection, status: status) { return .local(reply: refusal) }
            return .blocking(
                RESP3Entry.encoding(
                    DatabaseEntry.encoding(
                        BlockingEntry.block(bytes, connection: session.clientID), in: session.connection.database),
                    protocolVersion: session.connection.protocolVersion),
                timeout: timeout)
        case .publish(let entry): return .broadcast(entry)  // channels belong to no database; the reply is an integer
        case .local(let reply): return .local(reply: session.connection.shaped(reply, for: arguments))
        case .quit(let reply): return .quit(reply: reply)
        case .authenticate(let username, let password):
            let outcome = Authentication.authenticate(
                username: username, password: password, required: requiredPassword,
                wasAuthenticated: session.isAuthenticated)
            session.isAuthenticated = outcome.isAuthenticated
            return .local(reply: outcome.reply)
        case .subscription(let request):
            let reply = session.connection.shaped(session.subscriptions.apply(request), for: arguments)
            return .listen(reply: reply, isListening: !session.subscriptions.isEmpty)
        case .setName(let name):
            session.connection.name = name.isEmpty ? nil : name
            return .local(reply: Replies.ok)
        case .replyMode(let mode):
            session.replyMode = mode
            return .local(reply: mode == .on ? Replies.ok : [])
        case .hello(let version, let username, let password, let name):
            let reply = hello(
                protocolVersion: version, username: username, password: password, name: name, session: &session,
                status: status)
            return .local(reply: reply)
        case .reset:
            // As Redis's RESET: no subscriptions, no transaction, no name, and back to the default user, who needs
            // AUTH when a password is set. A watch is forgotten here without an entry; the store drops it in time
            // (`WatchedKeys`).
            session.subscriptions.removeAll()
            endTransaction(of: &session)
            session.watchToken = nil
            session.connection.name = nil
            session.connection.database = 0
            session.connection.protocolVersion = 2
            session.isAuthenticated = requiredPassword == nil
            return .listen(reply: RESPWriter.simpleString("RESET"), isListening: false)
        case .transaction(let request):
            return answer(request, session: &session, status: status, digest: digest)
        case .configuration(let arguments):
            let reply = KeyValueFrontend.configCommand(arguments, status: status, targets: configTargets)
            return .local(reply: session.connection.shaped(reply, for: arguments))
        case .slowLog(let arguments):
            let reply = KeyValueFrontend.slowLogCommand(arguments, slowLog: slowLog)
            return .local(reply: session.connection.shaped(reply, for: arguments))
        case .connections(let arguments):
            return .aboutConnections(query: KeyValueCommand.encode(arguments))
        case .monitor:
            return .monitor(reply: Replies.ok)
        case .openSession:
            let limits = [
                sessionLimits.window, sessionLimits.sessionsLimit, sessionLimits.replyBytesLimit,
                Int(sessionLimits.idleTimeoutMilliseconds),
            ]
            return .replicated(KeyValueCommand.encode([Array("SESSION".utf8), Array("OPEN".utf8)] + limits.map { Array(String($0).utf8) }))
        }
    }

    /// This node's per-command and per-error counts, kept with its slow log.
    var statistics: CommandStatistics { slowLog.commandStatistics }

    /// Counts the runtime's refusals (`-TRYAGAIN`, `-MISCONF`, `-READONLY` for commands that never reached the log)
    /// as error replies: they reach the client like any other.
    public func noteRejections(_ reply: [UInt8], count: Int) {
        statistics.noteError(reply, times: count)
    }

    /// Counts `request`, the outcome of `arguments`, in `statistics`: `isIdentified` says whether the frontend noted
    /// the request as the connection's `lastCommand` (not: refused before, an unknown command or a wrong arity). A
    /// data command the log carries is the store's to count, when it applies it; one answered here was refused
    /// (READONLY, OOM). A local command ran.
    ///
    /// It takes the session `inout` though it only reads it: passed by value (even `borrowing`), the whole session
    /// was copied for every request.
    @inline(__always)
    private func noteOutcome(
        _ request: ClientRequest, isIdentified: Bool, arguments: CommandArguments, session: inout Session
    ) {
        let reply: [UInt8]
        switch request {
        case .local(let bytes), .quit(let bytes), .malformed(let bytes), .listen(let bytes, _), .monitor(let bytes):
            reply = bytes
        case .replicated, .broadcast, .blocking, .aboutConnections:
            // Applied by the store, which counts it, unless a local command (SESSION) made the entry.
            guard isIdentified, case .local = session.connection.lastCommand else { return }
            reply = []
        }
        guard isIdentified, case .local = session.connection.lastCommand else {
            return statistics.noteRejection(CommandStatistics.slot(of: arguments), reply: reply)
        }
        let slot = CommandStatistics.slot(of: arguments)
        // A subcommand's own arity check, made as it runs here, is what Redis refuses before running it.
        if Replies.isWrongArity(reply) { return statistics.noteRejection(slot, reply: reply) }
        let elapsed = ClientConnection.monotonicNanoseconds() &- session.connection.localCommandStartedAtNanoseconds
        statistics.noteCall(slot, nanoseconds: elapsed, reply: reply)
        if slowLog.isSlow(nanoseconds: elapsed) { noteSlow(arguments, nanoseconds: elapsed, session: session) }
    }

    /// Notes a local command in the slow log, with the client's address and name, as Redis notes every command it
    /// runs; the store notes the data commands it executes, and the commands of an EXEC (which Redis never notes
    /// itself) each on its own.
    @inline(never)
    private func noteSlow(_ arguments: CommandArguments, nanoseconds: UInt64, session: Session) {
        guard !ASCII.equals(arguments.bytes(at: 0), "exec") else { return }
        slowLog.note(
            SlowLog.redacted(arguments.indices.map { arguments.bytes(at: $0) }), nanoseconds: nanoseconds,
            clientAddress: session.connection.peerAddress ?? "", clientName: session.connection.name ?? [])
    }

    /// HELLO after its syntax: authenticate if asked (a failure answers WRONGPASS), refuse an unauthenticated
    /// connection, validate and set the name, switch to `protocolVersion` if given, then the reply in the protocol
    /// now spoken: Redis's order, so a bad name after a good AUTH still leaves the connection authenticated, and an
    /// error leaves the protocol as it was.
    func hello(
        protocolVersion: Int?, username: [UInt8]?, password: [UInt8]?, name: [UInt8]?, session: inout Session, status: NodeStatus
    ) -> [UInt8] {
        if let username, let password {
            let outcome = Authentication.authenticate(
                username: username, password: password, required: requiredPassword,
                wasAuthenticated: session.isAuthenticated)
            session.isAuthenticated = outcome.isAuthenticated
            guard outcome.reply == Replies.ok else { return outcome.reply }
        }
        guard session.isAuthenticated else { return KeyValueFrontend.helloNotAuthenticatedReply }
        if let name {
            guard ClientConnection.isValidName(name) else { return ClientConnection.invalidNameReply }
            session.connection.name = name.isEmpty ? nil : name
        }
        if let protocolVersion { session.connection.protocolVersion = protocolVersion }
        return KeyValueFrontend.helloReply(
            status, clientID: session.clientID, protocolVersion: session.connection.protocolVersion)
    }

    /// `-READONLY ...` naming the primary on a backup (or a joining node) that knows where it is, `-TRYAGAIN ...`
    /// otherwise; on a stopped node the `TRYAGAIN` names the node that took over, when known.
    ///
    /// Both are errors Redis clients already understand as "not here, not now", and both promise the command did
    /// nothing, so retrying it elsewhere is safe. A serving node's peer is its backup, so its refusals name nobody.
    public func rejectionReply(reason: String, status: NodeStatus) -> [UInt8] {
        let knowsPeer = !status.peerClientAddress.isEmpty
        if status.role == .backup || status.role == .joining, knowsPeer {
            return KeyValueFrontend.readOnlyReply(status)
        }
        let flat = String(reason.map { $0 == "\r" || $0 == "\n" ? " " : $0 })
        if !status.persistenceFailure.isEmpty, status.role == .primary || status.role == .solo {
            // Redis's word for a node that cannot persist and so takes no writes (its AOF error is `-MISCONF`).
            let cause = String(status.persistenceFailure.map { $0 == "\r" || $0 == "\n" ? " " : $0 })
            return RESPWriter.error(
                "MISCONF Errors writing to the durable log: \(cause); data commands are refused until writes succeed")
        }
        let successor = status.role == .stopped && knowsPeer ? "; the primary is at \(status.peerClientAddress)" : ""
        return RESPWriter.error("TRYAGAIN \(flat); the command was not executed\(successor)")
    }

    /// Redis's own words for the two bounds a client can reach: `-ERR max number of clients reached` (as Redis sends
    /// past `maxclients`), and a protocol error for an oversized query buffer (Redis closes that connection without
    /// a word; an error says why).
    public func refusalReply(_ refusal: ConnectionRefusal, status: NodeStatus) -> [UInt8] {
        switch refusal {
        case .clientsLimitReached: RESPWriter.error("ERR max number of clients reached")
        case .queryBufferOverflowed(let bytes, let limit):
            RESPWriter.error("ERR Protocol error: query buffer of \(bytes) bytes is over the \(limit)-byte limit")
        }
    }

    /// Redis's `-OOM` for the data command just routed (alone, or inside `SESSION EXEC id number command...`), when
    /// it may add data and this node is past `maxmemory`; one load and a branch while no limit is set. A refused
    /// SESSION EXEC leaves its number unused, as any refusal before the log does.
    @inline(__always)
    private func memoryRefusal(
        _ arguments: CommandArguments, connection: ClientConnection, status: NodeStatus
    ) -> [UInt8]? {
        guard memoryLimit.bytes != 0 else { return nil }
        switch connection.lastCommand {
        case .data(let command): return memoryLimit.refusal(command, statistics: status.machineStatistics)
        case .local(.session, _) where arguments.count > 4:
            guard let command = CommandName(arguments.bytes(at: 4)).flatMap(DataCommand.init(name:)) else { return nil }
            return memoryLimit.refusal(command, statistics: status.machineStatistics)
        default: return nil
        }
    }

    /// Whether `arguments` is a well-formed data command: one a serving node would put in the log.
    private static func isDataCommand(_ arguments: CommandArguments) -> Bool {
        guard !arguments.isEmpty, let name = CommandName(arguments.bytes(at: 0)) else { return false }
        guard KeyValueFrontend.LocalCommand(name: name) == nil, let command = DataCommand(name: name) else {
            return false
        }
        return command.accepts(argumentCount: arguments.count)
    }
}
