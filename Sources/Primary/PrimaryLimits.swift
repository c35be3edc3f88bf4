/// The bounds and intervals a primary keeps; one value, checked at startup (STYLE 6).
public struct PrimaryLimits: Sendable, Equatable {
    /// Entries sent to the backup and not yet acked; intake pauses at this many.
    public var unackedEntriesLimit = 16_384
    /// Bytes of entries sent to the backup and not yet acked; caps what a failover may have to replay.
    public var unackedBytesLimit = 32 << 20
    /// Entries the backup has received but not replayed; the primary slows down past it, because that
    /// lag is what the backup must replay before it can go live.
    public var replayLagLimit: UInt64 = 8_192
    /// Commands the runtime hands over in one batch; withheld replies may exceed the entry limit by this.
    public var intakeBatchLimit = 1_024
    /// Largest checkpoint chunk; must fit a frame.
    public var checkpointChunkBytes = 256 << 10
    /// A state digest goes into the log after this many entries, so the backup can prove it has not diverged.
    public var digestIntervalEntries: UInt64 = 1_000
    /// How often timer-driven work (active expiry) enters the log.
    public var tickInterval: Duration = .milliseconds(100)
    /// How soon to ask an arbiter that did not answer again; nobody goes live meanwhile.
    public var arbiterRetryInterval: Duration = .milliseconds(50)
    /// While the arbiter stays unavailable, its failure is logged at the first retry and then at most once per this
    /// (with the count held back): one line per retry would be 20 a second.
    public var arbiterFailureNoteInterval: Duration = .seconds(5)

    /// The default bounds.
    public init() {}

    /// A primary can hold at most this many replies back (one per unacked entry, plus one batch).
    public var withheldRepliesLimit: Int { unackedEntriesLimit + intakeBatchLimit }

    /// These limits if they can work; otherwise a `LimitsError` naming the bound that cannot.
    public func checked() throws(LimitsError) -> PrimaryLimits {
        guard unackedEntriesLimit > 0, unackedBytesLimit > 0, intakeBatchLimit > 0 else {
            throw LimitsError("the unacked log and the intake batch must hold at least one entry")
        }
        guard replayLagLimit > 0 else { throw LimitsError("a replay lag limit of 0 would stop every write") }
        guard checkpointChunkBytes >= 1 << 10 else { throw LimitsError("checkpoint chunks under 1 KiB") }
        guard digestIntervalEntries > 0 else { throw LimitsError("a digest interval of 0 entries") }
        guard arbiterFailureNoteInterval > .zero else { throw LimitsError("an arbiter failure note interval of 0") }
        return self
    }
}

/// A configuration that cannot work, found at startup.
public struct LimitsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Which bound cannot work, and why.
    public var reason: String
    /// An error naming `reason`.
    public init(_ reason: String) { self.reason = reason }
    /// One sentence for the startup log: what is wrong, and that the node does not start.
    public var description: String { "invalid limits: \(reason); the node does not start" }
}
