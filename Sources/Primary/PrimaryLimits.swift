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
    /// Largest checkpoint chunk; must fit a frame. Each chunk costs the primary (encoding) and the backup
    /// (installing) time in proportion to its size in one event, and a full window goes out in one event when a
    /// backup joins, so this bounds how long a checkpoint holds up client work and heartbeats: a fraction of a
    /// millisecond per chunk in a release build, ten times that in a debug build.
    public var checkpointChunkBytes = 64 << 10
    /// Checkpoint chunks sent and not yet acked as installed; the next chunk goes only when an ack makes room. It
    /// bounds what a checkpoint adds to the send buffer, and with `checkpointChunkBytes` the rate on a slow link:
    /// 8 chunks of 64 KiB keep 512 KiB in flight, enough for 500 MB/s over a 1 ms round trip.
    public var checkpointWindowChunks = 8
    /// While a checkpoint streams, its progress is logged at most once per this (and at its start and end).
    public var checkpointProgressNoteInterval: Duration = .seconds(2)
    /// Entries appended while an earlier shipment to the backup is unacked wait for its ack and then leave together
    /// (group commit); past this many bytes they leave at once: a write that large costs little per byte, and
    /// waiting would leave the channel idle between large entries. 0 ships every entry with its event.
    public var heldBytesLimit = 4 << 10
    /// How long such an entry waits for that ack at most, checked at every event the primary handles (a tick comes
    /// every `tickInterval`, so it waits at most the later of the two). An ack that never comes (a backup that missed
    /// a frame sees the gap only when the next one arrives) must not hold the log back until the peer timeout.
    public var heldTimeLimit: Duration = .milliseconds(2)
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

    /// Entries this primary can have sent and unacked at most: intake pauses at `unackedEntriesLimit`, so a batch
    /// starts below it and adds at most its commands, the digests among them, one barrier behind its reads and one
    /// tick (ticks wait while the log is at its bound). A backup must be able to buffer this many while it installs a
    /// checkpoint.
    public var unackedEntriesCapacity: Int {
        let digestsPerBatch = intakeBatchLimit / Int(clamping: digestIntervalEntries) + 1
        return unackedEntriesLimit + intakeBatchLimit + digestsPerBatch + 2
    }

    /// These limits if they can work; otherwise a `LimitsError` naming the bound that cannot.
    public func checked() throws(LimitsError) -> PrimaryLimits {
        guard unackedEntriesLimit > 0, unackedBytesLimit > 0, intakeBatchLimit > 0 else {
            throw LimitsError("the unacked log and the intake batch must hold at least one entry")
        }
        guard replayLagLimit > 0 else { throw LimitsError("a replay lag limit of 0 would stop every write") }
        // Any chunk size works (the restorer takes the encoding cut anywhere): tiny ones only cost overhead, and the
        // simulation uses them to make checkpoints of many chunks. Whether a chunk fits a frame is the runtime's check.
        guard checkpointChunkBytes >= 1 else { throw LimitsError("checkpoint chunks of 0 bytes") }
        guard checkpointWindowChunks >= 1 else { throw LimitsError("a checkpoint window of 0 chunks would send none") }
        guard checkpointProgressNoteInterval > .zero else { throw LimitsError("a checkpoint progress interval of 0") }
        guard heldBytesLimit >= 0, heldTimeLimit >= .zero else { throw LimitsError("a negative bound on held entries") }
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
