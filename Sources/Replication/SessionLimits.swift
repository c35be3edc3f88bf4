/// The bounds of a `SessionTable`: how many replies a session keeps, how many sessions and saved bytes the table
/// holds, and how long an idle session lives.
///
/// They are part of the replicated state, not of a node's configuration: the primary puts its own into each
/// session-opening entry and the table adopts them there, so both nodes evict and expire alike even when they were
/// started with different settings.
public struct SessionLimits: Equatable, Sendable {
    /// Replies kept per session: a client may have this many requests unacknowledged, since a retry of any of them
    /// must find its reply.
    public var window: Int
    /// Sessions held; opening one more evicts the least recently used.
    public var sessionsLimit: Int
    /// Bytes of saved replies across all sessions; past it the least recently used sessions are evicted (never the
    /// one being served), and a single reply larger than it is not kept.
    public var replyBytesLimit: Int
    /// Idle time after which a session expires, measured on the recorded clock.
    public var idleTimeoutMilliseconds: Int64

    /// The defaults `lockstep node` starts with.
    public static let defaults = SessionLimits(
        window: 64, sessionsLimit: 10_000, replyBytesLimit: 64 << 20, idleTimeoutMilliseconds: 300_000)

    /// Limits as given.
    public init(window: Int, sessionsLimit: Int, replyBytesLimit: Int, idleTimeoutMilliseconds: Int64) {
        self.window = window
        self.sessionsLimit = sessionsLimit
        self.replyBytesLimit = replyBytesLimit
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
    }

    /// Whether every bound is positive, as a table needs; limits from a log entry or a snapshot are outside bytes.
    public var isValid: Bool {
        window > 0 && sessionsLimit > 0 && replyBytesLimit > 0 && idleTimeoutMilliseconds > 0
    }
}
