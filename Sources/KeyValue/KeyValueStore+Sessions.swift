import Replication

/// SESSION entries as the store applies them: exactly-once requests across a failover (`SessionTable`).
///
/// The frontend sends them into the log in these layouts (`KeyValueFrontend+Sessions`):
/// - `SESSION OPEN window sessions-limit reply-bytes-limit idle-timeout-ms`: the primary's `SessionLimits`, which
///   the table adopts, so both nodes evict and expire alike whatever their own settings. The id is drawn from the
///   recorded randomness; the reply is `:id`.
/// - `SESSION EXEC id number command [argument...]`: the command, applied once per (id, number); a retry gets the
///   reply saved the first time.
/// - `SESSION CLOSE id`.
/// Each reads the recorded clock once, for the session's last use and idle expiry.
extension KeyValueStore {
    /// Draws of a random id before the store gives up on finding a free one (with 63-bit ids and at most millions of
    /// sessions, a second draw is already rare).
    static let sessionIDDrawsLimit = 8

    /// Applies one SESSION entry; a malformed one (only a corrupt log or a different frontend holds one) changes
    /// nothing, on both nodes.
    mutating func applySession(_ arguments: CommandArguments, context: inout ApplyContext) -> [UInt8] {
        let subcommand = arguments.count > 1 ? arguments.bytes(at: 1) : []
        if ASCII.equals(subcommand, "exec"), arguments.count >= 5,
            let id = Self.sessionNumber(arguments.bytes(at: 2)), let number = Self.sessionNumber(arguments.bytes(at: 3))
        {
            let now = Self.milliseconds(context.wallClockNanoseconds())
            switch sessions.admit(id, number: number, at: now) {
            case .new:
                let reply = applyInSession(Array(arguments.dropFirst(4)), context: &context)
                sessions.save(reply, of: id)
                return reply
            case .repeated(let reply): return reply
            case .unknownSession: return Self.noSessionReply(id)
            case .stale(let oldestKept):
                return RESPWriter.error(
                    "SESSIONSTALE request \(number) of session \(id) is older than the oldest reply kept "
                        + "(\(oldestKept)); whether it was applied cannot be told")
            case .gap(let expected):
                return RESPWriter.error(
                    "SESSIONGAP request \(number) of session \(id) skips ahead; the next is \(expected); nothing was done")
            }
        }
        if ASCII.equals(subcommand, "open"), arguments.count == 6, let limits = Self.sessionLimits(arguments) {
            let now = Self.milliseconds(context.wallClockNanoseconds())
            for _ in 0..<Self.sessionIDDrawsLimit {
                let id = context.randomValue() & UInt64(Int64.max)
                guard id != 0, !sessions.contains(id) else { continue }
                sessions.open(id, limits: limits, at: now)
                return RESPWriter.integer(Int64(id))
            }
            return RESPWriter.error("ERR no free session id was drawn; try again")
        }
        if ASCII.equals(subcommand, "close"), arguments.count == 3, let id = Self.sessionNumber(arguments.bytes(at: 2)) {
            _ = context.wallClockNanoseconds()
            return sessions.close(id) ? Replies.ok : Self.noSessionReply(id)
        }
        return RESPWriter.error("ERR malformed SESSION entry; nothing was done")
    }

    /// Idle sessions expired at a tick, a bounded step (`SessionTable.expiryStepLimit`); reads the clock only while
    /// sessions exist, which the replicated state decides, alike on both nodes.
    mutating func expireIdleSessions(context: inout ApplyContext) {
        guard sessions.count > 0 else { return }
        sessions.expireIdle(at: Self.milliseconds(context.wallClockNanoseconds()))
    }

    /// The command inside `SESSION EXEC`: data commands only, since only they are replicated state whose reply can be
    /// saved (a node-local command's answer, or a transaction's, would mean nothing on a retry).
    private mutating func applyInSession(_ command: [[UInt8]], context: inout ApplyContext) -> [UInt8] {
        guard let name = CommandName(command[0][...]), DataCommand(name: name) != nil else {
            var message = Array("ERR SESSION EXEC runs data commands only, and '".utf8)
            message.append(contentsOf: command[0].prefix(128))
            message.append(contentsOf: Array("' is not one".utf8))
            var writer = RESPWriter()
            writer.appendError(message)
            return writer.bytes
        }
        return applyCommand(CommandArguments(encoding: command).encoding, context: &context)
    }

    static func noSessionReply(_ id: UInt64) -> [UInt8] {
        RESPWriter.error(
            "NOSESSION session \(id) does not exist: it was never opened, or it was closed, expired while idle or "
                + "was evicted; open a new one")
    }

    /// A session id or request number: a decimal integer from 1 to 2^63-1.
    static func sessionNumber(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        guard let value = DecimalInteger.parse(bytes), value > 0 else { return nil }
        return UInt64(value)
    }

    /// The limits an OPEN entry carries, if they are valid.
    private static func sessionLimits(_ arguments: CommandArguments) -> SessionLimits? {
        guard let window = DecimalInteger.parse(arguments.bytes(at: 2)),
            let sessionsLimit = DecimalInteger.parse(arguments.bytes(at: 3)),
            let replyBytesLimit = DecimalInteger.parse(arguments.bytes(at: 4)),
            let timeout = DecimalInteger.parse(arguments.bytes(at: 5))
        else { return nil }
        let limits = SessionLimits(
            window: Int(window), sessionsLimit: Int(sessionsLimit), replyBytesLimit: Int(replyBytesLimit),
            idleTimeoutMilliseconds: timeout)
        return limits.isValid ? limits : nil
    }
}
