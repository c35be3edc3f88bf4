import Replication

/// `DEBUG`: where each subcommand is answered.
///
/// - Node-local, answered here on any node: DIGEST, PROTOCOL, QUICKLIST-PACKED-THRESHOLD, HELP, and a SLEEP of no time.
/// - Entries, as they change the replicated state: SET-ACTIVE-EXPIRE (`KeyValueStore+Expiry`).
/// - Reads of the state, sent as replicated commands so that the primary answers them from its store without an entry
///   (`StateMachine.read`), under the output rule: RELOAD and OBJECT (`KeyValueStore+Debug`). A check that changes no
///   state needs no entry; the frontend holds no store to answer them itself.
/// - SLEEP: a blocking command whose timeout is its time (`BlockingCommand`), so its connection's reply is delayed
///   while the event loop, heartbeats and other clients carry on. Unlike Redis, the node is not paused.
///
/// Inside MULTI (`debugInTransaction`), the entries and reads run in the EXEC entry, with the replies Redis gives
/// there. A SLEEP of some time is refused while queueing: Redis blocks the whole server for it in the middle of the
/// transaction, and here nothing may block the event loop, while an EXEC reply has no way to wait; answering +OK at
/// once would let a test that measures the delay (the slow log's, an expiry's) pass or fail for the wrong reason.
extension KeyValueFrontend {
    /// How a DEBUG subcommand queued inside MULTI runs.
    enum DebugInTransaction: Equatable {
        /// In the EXEC entry, as the store's command; `isRead` for RELOAD and OBJECT, which a backup refuses as reads.
        case entry(isRead: Bool)
        /// Answered here when EXEC arrives, as outside MULTI.
        case local
        /// Refused while queueing, with this error: the transaction then aborts at EXEC.
        case refused([UInt8])
    }

    /// The error a DEBUG SLEEP of some time gets inside MULTI.
    static let sleepInTransactionReply = RESPWriter.error(
        "ERR DEBUG SLEEP inside MULTI is not supported: the node never pauses its event loop, so EXEC could not"
            + " wait for it; send it outside the transaction")

    /// How `arguments`, a DEBUG command queued inside MULTI, runs: the subcommands `debugRequest` sends to the log
    /// go into the EXEC entry, and everything else is answered as outside MULTI.
    static func debugInTransaction(_ arguments: [[UInt8]]) -> DebugInTransaction {
        let subcommand = arguments[1]
        if arguments.count == 3, ASCII.equals(subcommand, "set-active-expire") { return .entry(isRead: false) }
        if ASCII.equals(subcommand, "reload") || (arguments.count == 3 && ASCII.equals(subcommand, "object")) {
            return .entry(isRead: true)
        }
        if arguments.count == 3, ASCII.equals(subcommand, "sleep"),
            BlockingCommand.sleepMicroseconds(arguments[2][...]) > 0
        {
            return .refused(sleepInTransactionReply)
        }
        return .local
    }

    /// What `DEBUG ...` asks of the node.
    static func debugRequest(
        _ arguments: [[UInt8]], status: NodeStatus, digest: () -> UInt64, connection: ClientConnection
    ) -> KeyValueRequest {
        let subcommand = arguments[1]
        if arguments.count == 3, ASCII.equals(subcommand, "set-active-expire") {
            // Replicated state: both nodes' ticks must expire keys alike (`KeyValueStore.isActiveExpiryOn`).
            guard status.isServing else { return .local(reply: readOnlyReply(status)) }
            return .replicated(KeyValueCommand.encode(arguments))
        }
        if ASCII.equals(subcommand, "reload") || (arguments.count == 3 && ASCII.equals(subcommand, "object")) {
            guard status.isServing else { return .local(reply: readOnlyReply(status, isRead: true)) }
            return .replicated(KeyValueCommand.encode(arguments))
        }
        if arguments.count == 3, ASCII.equals(subcommand, "sleep") {
            let microseconds = BlockingCommand.sleepMicroseconds(arguments[2][...])
            guard microseconds > 0 else { return .local(reply: Replies.ok) }
            guard status.isServing else {
                // Its wait is kept in the log, which only the primary appends to.
                return .local(reply: readOnlyReply(status, isRead: true))
            }
            return .blocking(KeyValueCommand.encode(arguments), timeout: .microseconds(microseconds))
        }
        if arguments.count == 2, ASCII.equals(subcommand, "help") { return .local(reply: debugHelp) }
        return .local(reply: debugCommand(arguments, digest: digest, protocolVersion: connection.protocolVersion))
    }

    /// `DEBUG DIGEST`: the state digest as 16 hex digits, so two nodes can be compared by hand. `DEBUG PROTOCOL` and
    /// `DEBUG QUICKLIST-PACKED-THRESHOLD` as Redis answers them.
    private static func debugCommand(
        _ arguments: [[UInt8]], digest: () -> UInt64, protocolVersion: Int
    ) -> [UInt8] {
        if ASCII.equals(arguments[1], "protocol"), arguments.count == 3 {
            return debugProtocol(arguments[2], protocolVersion: protocolVersion)
        }
        if ASCII.equals(arguments[1], "quicklist-packed-threshold"), arguments.count == 3 {
            // Where Redis starts keeping a list element in a node of its own; the store's lists have no such nodes,
            // so a valid size is accepted and changes nothing (tests of large elements set it, then check replies).
            guard let size = EncodingSettings.memorySize(String(decoding: arguments[2], as: UTF8.self)),
                  size <= (1 << 32) - (1 << 20)
            else { return RESPWriter.error("ERR argument must be a memory value bigger than 1 and smaller than 4gb") }
            return Replies.ok
        }
        guard ASCII.equals(arguments[1], "digest"), arguments.count == 2 else {
            return unknownSubcommand(arguments[1], of: "DEBUG")
        }
        return RESPWriter.bulk(hexDigits(digest()))
    }

    /// `DEBUG HELP`: the subcommands Lockstep knows, in Redis's help format, each as Redis describes it with what
    /// differs here.
    static let debugHelp = RESPWriter.array(
        [
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "OBJECT <key>",
            "    Show low level info about the <key> and associated value.",
            "PROTOCOL <type>",
            "    Reply with a test value of the specified type. <type> can be: string,",
            "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
            "    true, false.",
            "QUICKLIST-PACKED-THRESHOLD <size>",
            "    Accepted and ignored: lists here have no quicklist nodes.",
            "RELOAD [option ...]",
            "    Check that the dataset survives a round trip through the node's snapshot",
            "    format. Options MERGE, NOFLUSH and NOSAVE are accepted and change nothing.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Delay this connection's reply for <seconds>, fractional allowed; other",
            "    clients are served meanwhile. Inside MULTI only 0 is queued: EXEC's reply",
            "    never waits.",
            "HELP",
            "    Prints this help.",
        ].map { RESPWriter.simpleString($0) })
}
