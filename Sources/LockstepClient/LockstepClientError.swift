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
