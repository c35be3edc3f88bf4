/// A request numbered in the session and not yet answered.
struct InFlightRequest: Equatable {
    /// Whose request it is; nil once its caller has been told the outcome is unknown (it timed out or was
    /// cancelled in flight). It is still resent until answered, because later numbers need it applied first.
    var id: RequestID?
    let command: RESPCommand
    let deadline: Duration
    /// Whether a transmission of it may have reached the server on a connection since lost: if the session is
    /// then lost too, its outcome is unknown. A request sent only on the current connection was not applied when
    /// the server answers `-NOSESSION`, so it can go to a new session.
    var wasSentOnLostConnection = false
}
