/// Why a request did not get its reply, and whether it may have been applied.
///
/// Every case says which of the two a caller must assume: `mayHaveBeenApplied` is false when the server certainly
/// never applied the request (it was refused locally, never sent, or the session promised so), true when the
/// outcome is unknown. A request the client reports as unknown is never sent again in another session, so it is
/// applied at most once; whether it was, only reading the state can tell.
public enum LockstepClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The addresses or limits given to `LockstepClient.init` are unusable; nothing was started.
    case invalidConfiguration(String)
    /// The client's I/O thread could not be started (e.g. out of file descriptors); nothing was started.
    case startFailed(String)
    /// The command was refused before it was queued; nothing was sent.
    case commandRefused(CommandRefusal)
    /// `LockstepClientConfiguration.pendingRequestsLimit` requests were already waiting; this one was not queued.
    case queueFull(limit: Int)
    /// No primary took a session within `reconnectTimeout` while this request waited; it was never sent.
    case noPrimary(lastFailure: ConnectionFailure?)
    /// `requestTimeout` passed before this request was sent; it was never applied.
    case timedOutUnsent
    /// The calling task was cancelled before the request was sent; it was never applied.
    case cancelledUnsent
    /// The client was closed before the request was sent; it was never applied.
    case closed
    /// The request was sent, but the client cannot know whether it was applied.
    case outcomeUnknown(UnknownOutcome)

    /// Whether the server may have applied the request (at most once): true only for `outcomeUnknown`.
    public var mayHaveBeenApplied: Bool {
        if case .outcomeUnknown = self { return true }
        return false
    }

    /// One sentence: what happened to the request and what the caller may assume.
    public var description: String {
        switch self {
        case .invalidConfiguration(let problem): "the client configuration is unusable: \(problem)"
        case .startFailed(let reason): "the client's I/O thread could not start: \(reason)"
        case .commandRefused(let refusal): "the command was not sent: \(refusal)"
        case .queueFull(let limit):
            "\(limit) requests were already waiting for the primary; this one was not queued (retry later)"
        case .noPrimary(let failure):
            "no node served as primary in time; the request was never sent"
                + (failure.map { " (last attempt: \($0))" } ?? "")
        case .timedOutUnsent: "the request timed out before it could be sent; it was never applied"
        case .cancelledUnsent: "the task was cancelled before the request was sent; it was never applied"
        case .closed: "the client was closed before the request was sent; it was never applied"
        case .outcomeUnknown(let cause):
            "the request was sent but its outcome is unknown (\(cause)); it was applied at most once"
        }
    }
}

/// Why a command was refused before it was queued.
public enum CommandRefusal: Equatable, Sendable, CustomStringConvertible {
    /// No command name.
    case empty
    /// A command that acts on the connection or spans requests (MULTI, SUBSCRIBE, ...), which a session cannot carry.
    case notAllowedInSession(String)
    /// Larger than `LockstepClientConfiguration.commandBytesLimit`.
    case tooLarge(bytes: Int, limit: Int)

    /// One sentence naming what was wrong.
    public var description: String {
        switch self {
        case .empty: "a command needs at least its name"
        case .notAllowedInSession(let name): "\(name) cannot run inside a session; use a plain Redis client for it"
        case .tooLarge(let bytes, let limit): "the command takes \(bytes) bytes, over the limit of \(limit)"
        }
    }
}

/// Why a sent request's outcome is unknown.
public enum UnknownOutcome: Equatable, Sendable, CustomStringConvertible {
    /// `requestTimeout` passed while it was in flight. The client keeps resending it in its session, so it is
    /// applied at most once, but nobody will hear its reply.
    case timedOut
    /// The calling task was cancelled while it was in flight; as for `timedOut`.
    case cancelled
    /// The server no longer knows the session (expired, evicted, or lost), and the request had been sent before.
    case sessionLost
    /// The server had dropped the saved reply of this number (`-SESSIONSTALE`): the client's window is larger than
    /// the server's `--session-window`.
    case numberStale
    /// The server reported a gap in the session's numbers (`-SESSIONGAP`), which only a client bug can cause; the
    /// session was abandoned.
    case numberGap
    /// No primary answered within `reconnectTimeout`; the session was abandoned.
    case noPrimary(lastFailure: ConnectionFailure?)
    /// The client was closed while the request was in flight.
    case closed

    /// A few words naming the cause.
    public var description: String {
        switch self {
        case .timedOut: "it timed out in flight"
        case .cancelled: "the task was cancelled while it was in flight"
        case .sessionLost: "the server lost the session after the request was sent"
        case .numberStale: "the server no longer keeps its reply; the client's window exceeds the server's"
        case .numberGap: "the server reported a gap in the session's numbers"
        case .noPrimary(let failure):
            "no primary answered in time" + (failure.map { " (last attempt: \($0))" } ?? "")
        case .closed: "the client was closed while it was in flight"
        }
    }
}

/// Why one attempt to reach the primary, or one connection to it, failed.
public enum ConnectionFailure: Equatable, Sendable, CustomStringConvertible {
    /// The TCP connect failed; `reason` is the system's.
    case connectFailed(address: String, reason: String)
    /// The node closed the connection, or reading or writing it failed.
    case connectionLost(address: String)
    /// The node took longer than `connectTimeout` to accept and answer, or `replySilenceTimeout` to reply.
    case timedOut(address: String)
    /// The node is not the primary (a backup, a joining or stopped node).
    case notPrimary(address: String)
    /// The node refused a request with a promise it did nothing (`READONLY`, `TRYAGAIN`, `MISCONF`, `LOADING`).
    case refused(address: String, reply: String)
    /// The node refused the password, or wants one and none was configured.
    case authenticationFailed(address: String, reply: String)
    /// The node sent something that is not a RESP2 reply, or a reply the client did not expect.
    case protocolViolation(address: String, problem: String)

    /// One sentence naming the node and what went wrong.
    public var description: String {
        switch self {
        case .connectFailed(let address, let reason): "cannot connect to \(address): \(reason)"
        case .connectionLost(let address): "the connection to \(address) was lost"
        case .timedOut(let address): "\(address) did not answer in time"
        case .notPrimary(let address): "\(address) is not the primary"
        case .refused(let address, let reply): "\(address) refused: \(reply)"
        case .authenticationFailed(let address, let reply): "\(address) did not accept the password: \(reply)"
        case .protocolViolation(let address, let problem): "\(address) broke the protocol: \(problem)"
        }
    }
}
