import Replication

/// Commands whose Redis meaning Lockstep already provides, or deliberately does not: WAIT, and the scripting family.
extension KeyValueFrontend {
    /// `WAIT numreplicas timeout`: how many backups hold every write this connection made before it. Every reply
    /// already waited for the backup's ack (the output rule), so there is nothing to wait for: the answer is 1 while a
    /// backup protects this primary, 0 when it serves alone, at once, whatever the timeout. A backup refuses, as a
    /// Redis replica does.
    static func waitCommand(_ arguments: [[UInt8]], status: NodeStatus) -> [UInt8] {
        guard status.isServing else {
            return RESPWriter.error(
                "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is "
                    + "configured to be writable (which is not the default) writes to replicas are just local and are "
                    + "not propagated.")
        }
        guard DecimalInteger.parse(arguments[1]) != nil else { return Replies.notInteger }
        guard let timeout = DecimalInteger.parse(arguments[2]) else {
            return RESPWriter.error("ERR timeout is not an integer or out of range")
        }
        guard timeout >= 0 else { return RESPWriter.error("ERR timeout is negative") }
        return RESPWriter.integer(status.role == .primary && status.peerState == .connected ? 1 : 0)
    }

    /// SCRIPT and FUNCTION: the subcommands that only look at or empty the script cache and the function library
    /// are answered as Redis answers them when both are empty, which here they always are (tools and test harnesses
    /// send `FUNCTION FLUSH` before they start). The rest, which would load or run code, are refused by name.
    static func scriptingCommand(_ arguments: [[UInt8]], command: LocalCommand, protocolVersion: Int) -> [UInt8] {
        let subcommand = arguments[1]
        let isFunction = command == .function
        if ASCII.equals(subcommand, "flush") {
            // Nothing to drop, and so nothing to replicate: an empty library stays empty on both nodes.
            guard arguments.count <= 3 else { return unknownSubcommand(subcommand, of: isFunction ? "FUNCTION" : "SCRIPT") }
            guard arguments.count == 2 || ASCII.equals(arguments[2], "sync") || ASCII.equals(arguments[2], "async") else {
                return RESPWriter.error(
                    isFunction ? "ERR FUNCTION FLUSH only supports SYNC|ASYNC option" : "ERR SCRIPT FLUSH only support SYNC|ASYNC option")
            }
            return RESPWriter.simpleString("OK")
        }
        if ASCII.equals(subcommand, "kill"), arguments.count == 2 {
            return RESPWriter.error("NOTBUSY No scripts in execution right now.")
        }
        if !isFunction, ASCII.equals(subcommand, "exists"), arguments.count >= 3 {
            return RESPWriter.array(Array(repeating: RESPWriter.integer(0), count: arguments.count - 2))
        }
        if isFunction, ASCII.equals(subcommand, "list") {
            return functionList(arguments)
        }
        if isFunction, ASCII.equals(subcommand, "stats"), arguments.count == 2 {
            // No script is running and no engine is loaded: `running_script` null, `engines` empty, as maps in RESP3.
            guard protocolVersion >= 3 else {
                return RESPWriter.array([RESPWriter.bulk("running_script"), RESPWriter.nullBulk,
                                         RESPWriter.bulk("engines"), RESPWriter.array([])])
            }
            return Array("%2\r\n".utf8) + RESPWriter.bulk("running_script") + Array("_\r\n".utf8)
                + RESPWriter.bulk("engines") + Array("%0\r\n".utf8)
        }
        return scriptingRefusal(command)
    }

    /// `FUNCTION LIST [WITHCODE] [LIBRARYNAME pattern]`: the options checked as Redis checks them, and no library.
    private static func functionList(_ arguments: [[UInt8]]) -> [UInt8] {
        var index = 2
        var hasCode = false
        var hasName = false
        while index < arguments.count {
            if !hasCode, ASCII.equals(arguments[index], "withcode") {
                hasCode = true
            } else if !hasName, ASCII.equals(arguments[index], "libraryname") {
                guard index + 1 < arguments.count else { return RESPWriter.error("ERR library name argument was not given") }
                hasName = true
                index += 1
            } else {
                return RESPWriter.error("ERR Unknown argument " + String(decoding: arguments[index].prefix(128), as: UTF8.self))
            }
            index += 1
        }
        return RESPWriter.array([])
    }

    /// EVAL, EVALSHA, FCALL, SCRIPT, FUNCTION and their read-only forms: Lockstep embeds no interpreter, so they are
    /// refused by name rather than as unknown commands, and nothing was executed.
    static func scriptingRefusal(_ command: LocalCommand) -> [UInt8] {
        RESPWriter.error(
            "ERR \(command.rawValue.uppercased()) is not supported: Lockstep runs no scripts or functions; send the "
                + "commands themselves (each one is atomic)")
    }
}
