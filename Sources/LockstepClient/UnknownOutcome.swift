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
