import Replication

/// `SESSION OPEN | EXEC | CLOSE` on the client port: the syntax checks a client gets at once, before anything costs a
/// log entry or a request number (`KeyValueStore+Sessions` applies the entries).
extension KeyValueFrontend {
    /// Routes one SESSION request: EXEC and CLOSE go into the log as they came, OPEN to the protocol for its limits; a
    /// node that is not serving refuses them as it refuses writes, which promises the number was not used.
    static func sessionCommand(_ arguments: CommandArguments, status: NodeStatus) -> KeyValueRequest {
        let subcommand = arguments.bytes(at: 1)
        let isServing = status.isServing
        if ASCII.equals(subcommand, "exec") {
            guard arguments.count >= 5 else { return .local(reply: Replies.wrongArity("session|exec")) }
            if let refusal = invalidSessionNumbers(arguments, checksNumber: true) { return .local(reply: refusal) }
            return isServing ? .replicated(arguments.encoding) : .local(reply: readOnlyReply(status))
        }
        if ASCII.equals(subcommand, "open") {
            guard arguments.count == 2 else { return .local(reply: Replies.wrongArity("session|open")) }
            return isServing ? .openSession : .local(reply: readOnlyReply(status))
        }
        if ASCII.equals(subcommand, "close") {
            guard arguments.count == 3 else { return .local(reply: Replies.wrongArity("session|close")) }
            if let refusal = invalidSessionNumbers(arguments, checksNumber: false) { return .local(reply: refusal) }
            return isServing ? .replicated(arguments.encoding) : .local(reply: readOnlyReply(status))
        }
        if ASCII.equals(subcommand, "help"), arguments.count == 2 {
            return .local(reply: RESPWriter.array(sessionHelp.map { RESPWriter.simpleString($0) }))
        }
        return .local(reply: unknownSubcommand(Array(subcommand), of: "SESSION"))
    }

    /// The error for an id (and a request number) that is not an integer from 1 to 2^63-1; nil when both are.
    private static func invalidSessionNumbers(_ arguments: CommandArguments, checksNumber: Bool) -> [UInt8]? {
        guard KeyValueStore.sessionNumber(arguments.bytes(at: 2)) != nil else {
            return RESPWriter.error("ERR invalid session id: it must be an integer from 1 to 2^63-1")
        }
        guard !checksNumber || KeyValueStore.sessionNumber(arguments.bytes(at: 3)) != nil else {
            return RESPWriter.error("ERR invalid request number: it must be an integer from 1 to 2^63-1")
        }
        return nil
    }

    static let sessionHelp = [
        "SESSION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "OPEN",
        "    Open a session; returns its id.",
        "EXEC <id> <number> <command> [<arg> ...]",
        "    Execute a data command at most once per (id, number); numbers start at 1 and go up by one.",
        "    A retry of a number already applied returns the reply saved then.",
        "CLOSE <id>",
        "    Close a session.",
        "HELP",
        "    Print this help.",
    ]
}
