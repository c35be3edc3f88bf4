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

    /// EVAL, EVALSHA, FCALL, SCRIPT, FUNCTION and their read-only forms: Lockstep embeds no interpreter, so they are
    /// refused by name rather than as unknown commands, and nothing was executed.
    static func scriptingRefusal(_ command: LocalCommand) -> [UInt8] {
        RESPWriter.error(
            "ERR \(command.rawValue.uppercased()) is not supported: Lockstep runs no scripts or functions; send the "
                + "commands themselves (each one is atomic)")
    }
}
