/// How a `LockstepClient` finds the primary, how long it waits, and how much it holds.
///
/// Every wait has a deadline and every queue a bound, so a client facing a pair that is down reports typed errors
/// instead of hanging or growing. `checked()` rejects combinations that could never work.
public struct LockstepClientConfiguration: Sendable {
    /// The password sent with `AUTH` on every connection (the nodes' `--requirepass-file`); nil sends none.
    public var password: String?
    /// The service name asked of `SENTINEL get-master-addr-by-name` when a node is not the primary.
    public var serviceName = "lockstep"
    /// Requests sent and not yet answered, at most. Must not exceed the server's `--session-window` (default 64):
    /// the server keeps only that many saved replies, and a resend of an older number could not be answered.
    public var requestsInFlightLimit = 64
    /// Requests waiting for room in the window or for the primary; past it `send` throws `queueFull`.
    public var pendingRequestsLimit = 1_024
    /// From `send` to the reply: past it the caller gets `timedOutUnsent` or `outcomeUnknown(.timedOut)`.
    public var requestTimeout: Duration = .seconds(15)
    /// How long the client keeps looking for the primary, from losing it, before failing every request.
    public var reconnectTimeout: Duration = .seconds(10)
    /// One attempt's bound: TCP connect, AUTH, ROLE and SESSION OPEN.
    public var connectTimeout: Duration = .seconds(1)
    /// With requests in flight, how long the primary may send nothing before the client presumes it frozen or
    /// unreachable and reconnects (resending in the session, which is safe).
    public var replySilenceTimeout: Duration = .seconds(2)
    /// The pause after the first failed attempt; each further one doubles it, with jitter, up to the limit.
    public var reconnectBackoffInitial: Duration = .milliseconds(5)
    /// The longest pause between attempts.
    public var reconnectBackoffLimit: Duration = .milliseconds(250)
    /// The largest command accepted, encoded.
    public var commandBytesLimit = 64 << 20
    /// The largest reply accepted; a larger one is treated as a broken connection.
    public var replyBytesLimit = 512 << 20

    /// The defaults: a 64-request window, 15 s per request, 10 s to find a primary again.
    public init() {}

    /// The configuration, if every bound is positive and the waits fit together; otherwise why not.
    public func checked() throws(LockstepClientError) -> LockstepClientConfiguration {
        guard requestsInFlightLimit >= 1 else { throw .invalidConfiguration("requestsInFlightLimit must be at least 1") }
        guard pendingRequestsLimit >= 1 else { throw .invalidConfiguration("pendingRequestsLimit must be at least 1") }
        guard commandBytesLimit >= 64, replyBytesLimit >= 64 else {
            throw .invalidConfiguration("commandBytesLimit and replyBytesLimit must be at least 64 bytes")
        }
        for (name, wait) in [
            ("requestTimeout", requestTimeout), ("reconnectTimeout", reconnectTimeout),
            ("connectTimeout", connectTimeout), ("replySilenceTimeout", replySilenceTimeout),
            ("reconnectBackoffInitial", reconnectBackoffInitial),
        ] where wait <= .zero {
            throw .invalidConfiguration("\(name) must be positive")
        }
        guard reconnectBackoffLimit >= reconnectBackoffInitial else {
            throw .invalidConfiguration("reconnectBackoffLimit must be at least reconnectBackoffInitial")
        }
        guard serviceName.utf8.allSatisfy({ $0 > 32 && $0 < 127 }), !serviceName.isEmpty else {
            throw .invalidConfiguration("serviceName must be printable ASCII without spaces")
        }
        return self
    }
}
