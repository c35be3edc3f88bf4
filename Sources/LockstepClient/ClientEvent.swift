/// A caller's request, as the client numbers them for cancellation; not a session number.
typealias RequestID = UInt64

/// What happened, as the client's I/O thread reports it to `ClientCore`: facts, in the past tense.
enum ClientEvent: Sendable, Equatable {
    /// The I/O thread is running; the core starts looking for the primary at once, so the first request is fast.
    case started
    /// A caller handed over a command.
    case requestSubmitted(RequestID, RESPCommand)
    /// The caller's task was cancelled.
    case requestCancelled(RequestID)
    /// The connect the core asked for completed.
    case connected
    /// The connect failed, or the open connection broke (closed, reset, unreadable bytes).
    case connectionFailed(LinkProblem)
    /// One complete reply arrived on the open connection.
    case replyArrived(RESPReply)
    /// `ClientCore.nextWakeup` has come.
    case timerFired
    /// `LockstepClient.close()` was called.
    case closeRequested
}

/// How the connection failed, as the I/O thread saw it; the core adds the address.
enum LinkProblem: Sendable, Equatable {
    /// The TCP connect failed (refused, unreachable); the system's words.
    case connectFailed(String)
    /// The node closed the connection, or a read or write failed.
    case lost
    /// The node sent bytes that are not RESP2.
    case undecodable(RESPDecodingError)
}
