import Replication

/// The session commands as the token log applies them: the simulation's stand-in for the key-value store's
/// `SESSION OPEN` and `SESSION EXEC` (`KeyValueStore+Sessions`), on the same `SessionTable`.
///
/// Each reads the recorded clock once for the table (last use, idle expiry), so both nodes judge alike.
extension TokenLog {
    /// Draws of a random id before giving up on finding a free one.
    static let sessionIDDrawsLimit = 8

    /// Opens a session under `limits` with an id from the recorded randomness.
    mutating func openSession(_ limits: SessionLimits, context: inout ApplyContext) -> [UInt8] {
        guard limits.isValid else { return Array("invalid session limits".utf8) }
        let now = Self.milliseconds(context.wallClockNanoseconds())
        for _ in 0..<Self.sessionIDDrawsLimit {
            let id = context.randomValue() & UInt64(Int64.max)
            guard id != 0, !sessions.contains(id) else { continue }
            sessions.open(id, limits: limits, at: now)
            return Answer.opened(session: id).encoded
        }
        return Array("no free session id".utf8)
    }

    /// Request `number` of `session`: appends `token` to `key` if the table admits it as new and saves the reply;
    /// a resend gets that saved reply and appends nothing.
    mutating func sessionAppend(
        _ token: UInt64, to key: Int, session: UInt64, number: UInt64, context: inout ApplyContext
    ) -> [UInt8] {
        switch sessions.admit(session, number: number, at: Self.milliseconds(context.wallClockNanoseconds())) {
        case .new:
            let reply = append(token, to: key, context: &context)
            sessions.save(reply, of: session)
            sessionAppendsApplied += 1
            return reply
        case .repeated(let reply):
            sessionRepeats += 1
            return reply
        case .unknownSession:
            return Answer.noSession.encoded
        case .stale(let oldestKept):
            return Answer.stale(oldestKept: oldestKept).encoded
        case .gap(let expected):
            return Answer.gap(expected: expected).encoded
        }
    }
}
