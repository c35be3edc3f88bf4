#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Replication

/// Sorts client requests into those that go through the log and those this node answers itself.
///
/// Connection and introspection commands (PING, ECHO, QUIT, SELECT, COMMAND, CONFIG, CLIENT, HELLO, AUTH,
/// ROLE, INFO, DEBUG DIGEST, SENTINEL, the Pub/Sub subscriptions, RESET and WAIT) are node-local so they work on the
/// backup too, and so that `redis-cli`, `redis-benchmark` and client libraries get the handshake answers they
/// expect. Unknown commands and wrong arity are refused here, before they cost a log entry, with Redis's exact
/// errors; so are scripts and functions, by name. A data command on a
/// node that is not serving gets `-READONLY` naming the primary (DESIGN, clients), so a client can move.
public enum KeyValueFrontend {
    /// Routes one parsed request.
    ///
    /// - Parameters:
    ///   - status: this node's role and log positions, for ROLE, INFO and READONLY.
    ///   - digest: the state digest, read only for DEBUG DIGEST.
    ///   - clientID: the connection's id, for CLIENT ID.
    ///   - service: the service SENTINEL answers for.
    public static func route(
        _ arguments: [[UInt8]], status: NodeStatus, digest: () -> UInt64, clientID: UInt64 = 0,
        service: SentinelService = SentinelService()
    ) -> KeyValueRequest {
        var connection = ClientConnection(id: clientID)
        return route(
            CommandArguments(encoding: arguments), status: status, digest: digest, connection: &connection,
            service: service)
    }

    /// Routes one request as the parser hands it over: a data command goes into the log in the encoding it
    /// arrived in. Notes the command in `connection` for `CLIENT LIST`'s `cmd=`. INFO reports `statistics` and `memoryLimit`
    /// (none: empty counts).
    static func route(
        _ arguments: CommandArguments, status: NodeStatus, digest: () -> UInt64, connection: inout ClientConnection,
        service: SentinelService, statistics: CommandStatistics? = nil, memoryLimit: MemoryLimit? = nil
    ) -> KeyValueRequest {
        guard !arguments.isEmpty else { return .local(reply: RESPWriter.error("ERR empty command")) }
        let name = CommandName(arguments.bytes(at: 0))
        // Data commands first: they are nearly all the traffic, and spare a lookup in the local table. SELECT is in
        // both tables, and the local one answers it.
        let dataCommand = name.flatMap(DataCommand.init(name:))
        if dataCommand == nil || dataCommand == .select, let command = name.flatMap(LocalCommand.init(name:)) {
            guard command.accepts(argumentCount: arguments.count) else {
                return .local(reply: Replies.wrongArity(command.rawValue))
            }
            connection.lastCommand = .local(command, subcommand: nil)
            connection.localCommandStartedAtNanoseconds = ClientConnection.monotonicNanoseconds()
            if command.hasSubcommands, arguments.count > 1 {
                // Only a name-like subcommand is kept: the field sits inside a space-separated line.
                let subcommand = arguments.bytes(at: 1)
                if subcommand.count <= CommandName.bytesLimit, ClientConnection.isValidName(Array(subcommand)) {
                    connection.lastCommand = .local(command, subcommand: Array(subcommand))
                }
            }
            // Before `answer`, which copies the arguments: SESSION EXEC carries a data command into the log as it came.
            if command == .session { return sessionCommand(arguments, status: status) }
            // Before `answer` too: copying its one argument would cost a PING more than answering it.
            if command == .ping, arguments.count == 1 { return .local(reply: Replies.pong) }
            if command == .select {
                // The selection is the connection's, on any node: it changes no replicated state.
                guard case .database(let database) = KeyValueStore.database(arguments.bytes(at: 1)) else {
                    return .local(reply: KeyValueStore.select(arguments[1]))
                }
                connection.database = database
                return .local(reply: Replies.ok)
            }
            return answer(
                command, Array(arguments), status: status, digest: digest, connection: connection, service: service,
                statistics: statistics, memoryLimit: memoryLimit)
        }
        guard let command = dataCommand else {
            return .local(reply: Replies.unknownCommand(Array(arguments)))
        }
        guard command.accepts(argumentCount: arguments.count) else {
            return .local(reply: Replies.wrongArity(command.rawValue))
        }
        connection.lastCommand = .data(command)
        guard status.isServing else { return .local(reply: readOnlyReply(status, isRead: command.isRead)) }
        // A blocking pop with a timeout Redis refuses goes as a plain command: the store answers the error.
        if command.isBlocking, case .success(let blocking)? = BlockingCommand.parse(Array(arguments)) {
            return .blocking(arguments.encoding, timeout: blocking.timeout)
        }
        return .replicated(arguments.encoding)
    }

    /// `-READONLY ...`, naming the primary's client address so the client (or its operator) can move there. A read
    /// hears that the node serves none, not that it takes no writes: every read goes to the primary, so that it sees
    /// every acknowledged write.
    static func readOnlyReply(_ status: NodeStatus, isRead: Bool = false) -> [UInt8] {
        let primary = status.peerClientAddress.isEmpty ? "is unknown" : "is at \(status.peerClientAddress)"
        guard isRead else { return RESPWriter.error("READONLY You can't write against a backup; the primary \(primary)") }
        return RESPWriter.error("READONLY This node is not the primary and serves no reads; the primary \(primary)")
    }

    /// The commands answered without the log, with Redis's arities.
    enum LocalCommand: String, CaseIterable {
        case ping, echo, quit, select, command, config, client, hello, auth, role, info, debug, sentinel
        case subscribe, psubscribe, unsubscribe, punsubscribe, reset, wait
        case eval, evalsha, fcall, script, function
        case multi, exec, discard, watch, unwatch
        case slowlog, monitor, session, publish, pubsub
        case evalReadOnly = "eval_ro", evalshaReadOnly = "evalsha_ro", fcallReadOnly = "fcall_ro"

        var arity: Int {
            switch self {
            case .ping, .quit, .command, .hello, .info, .unsubscribe, .punsubscribe: -1
            case .echo, .select: 2
            case .config, .client, .auth, .debug, .sentinel, .subscribe, .psubscribe: -2
            case .role, .reset, .multi, .exec, .discard, .unwatch, .monitor: 1
            case .watch: -2
            case .wait, .publish: 3
            case .eval, .evalsha, .fcall, .evalReadOnly, .evalshaReadOnly, .fcallReadOnly: -3
            case .script, .function, .slowlog, .session, .pubsub: -2
            }
        }

        /// Whether the command takes a subcommand, which Redis names with it (`sentinel|masters`) in errors.
        var hasSubcommands: Bool {
            switch self {
            case .command, .config, .client, .sentinel, .script, .function, .slowlog, .session, .pubsub: true
            default: false
            }
        }

        func accepts(argumentCount count: Int) -> Bool {
            guard arity >= 0 ? count == arity : count >= -arity else { return false }
            return self != .ping || count <= 2
        }

        init?(name: CommandName) {
            guard let command = Self.byName[name] else { return nil }
            self = command
        }

        private static let byName = CommandTable<LocalCommand>()
    }

    private static func answer(
        _ command: LocalCommand, _ arguments: [[UInt8]], status: NodeStatus, digest: () -> UInt64,
        connection: ClientConnection, service: SentinelService, statistics: CommandStatistics?,
        memoryLimit: MemoryLimit?
    ) -> KeyValueRequest {
        let reply: [UInt8]
        switch command {
        case .ping: reply = arguments.count == 2 ? RESPWriter.bulk(arguments[1]) : Replies.pong
        case .echo: reply = RESPWriter.bulk(arguments[1])
        case .quit: return .quit(reply: Replies.ok)
        case .select: preconditionFailure("SELECT is answered in route, where the connection can change")
        case .command: reply = commandCommand(arguments)
        case .config: return .configuration(arguments)
        case .slowlog: return .slowLog(arguments)
        case .monitor: return .monitor
        case .client: return clientCommand(arguments, connection: connection)
        case .hello: return helloCommand(arguments)
        case .auth:
            // Redis takes `AUTH password` and `AUTH username password`, nothing longer.
            guard arguments.count <= 3 else { return .local(reply: Replies.syntaxError) }
            return .authenticate(username: arguments.count == 3 ? arguments[1] : nil, password: arguments[arguments.count - 1])
        case .role: reply = role(status)
        case .info:
            reply = RESPWriter.bulk(
                info(
                    status, sections: Array(arguments.dropFirst()), statistics: statistics ?? CommandStatistics(),
                    memoryLimit: memoryLimit ?? MemoryLimit()))
        case .debug: return debugRequest(arguments, status: status, digest: digest, connection: connection)
        case .sentinel: reply = sentinelCommand(arguments, status: status, service: service)
        case .subscribe: return .subscription(.subscribe(Array(arguments.dropFirst())))
        case .psubscribe: return .subscription(.psubscribe(Array(arguments.dropFirst())))
        case .unsubscribe: return .subscription(.unsubscribe(Array(arguments.dropFirst())))
        case .punsubscribe: return .subscription(.punsubscribe(Array(arguments.dropFirst())))
        case .reset: return .reset
        case .wait: reply = waitCommand(arguments, status: status)
        case .eval, .evalsha, .fcall, .evalReadOnly, .evalshaReadOnly, .fcallReadOnly: reply = scriptingRefusal(command)
        case .script, .function:
            reply = scriptingCommand(arguments, command: command, protocolVersion: connection.protocolVersion)
        case .multi, .exec, .discard, .watch, .unwatch: return transactionRequest(command, arguments)
        case .session: return sessionCommand(CommandArguments(encoding: arguments), status: status)
        case .publish: return publishCommand(arguments, status: status)
        case .pubsub: return pubsubCommand(arguments)
        }
        return .local(reply: reply)
    }

    static func unknownSubcommand(_ subcommand: [UInt8], of command: String) -> [UInt8] {
        Replies.unknownSubcommand(subcommand, of: command)
    }

    /// The settings `CONFIG GET` reports that Lockstep fixes at start: what tools such as redis-benchmark ask about
    /// persistence. `CONFIG SET` accepts their current values and refuses others (`KeyValueClientProtocol+Settings`).
    static let configuration: [(name: String, value: String)] = [
        ("save", ""), ("appendonly", "no"), ("databases", String(KeyValueStore.databaseCount)),
        ("proto-max-bulk-len", String(KeyValueClientProtocol.defaultParserLimits.bulkBytesLimit)),
    ]

    static func hexDigits(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
