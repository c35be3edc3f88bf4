/// One kill -9 of the primary under write load, and what followed.
public struct FailoverCycle: Sendable {
    /// The node killed (its `--name`).
    public var killedNode: String
    /// From SIGKILL to the first SET the survivor acknowledged with +OK; nil if none came before the deadline.
    public var killToFirstAckNanoseconds: UInt64?
    /// From restarting the killed node to the survivor reporting its backup caught up
    /// (`lockstep_peer_state:connected`); nil if that did not happen before the deadline.
    public var rejoinNanoseconds: UInt64?
    /// What went wrong, if anything.
    public var problem: String?

    public init(
        killedNode: String, killToFirstAckNanoseconds: UInt64?, rejoinNanoseconds: UInt64?, problem: String? = nil
    ) {
        self.killedNode = killedNode
        self.killToFirstAckNanoseconds = killToFirstAckNanoseconds
        self.rejoinNanoseconds = rejoinNanoseconds
        self.problem = problem
    }
}

/// Every failover cycle of a run, summarised as the issue asks: median and max, with the detection timeout used.
public struct FailoverResult: Sendable {
    public var cycles: [FailoverCycle]
    /// The `--timeout` the nodes ran with, as text (e.g. `default (500 ms)`), for the report.
    public var detectionTimeout: String
    /// Whether the nodes ran with their default timeout: the targets hold only for that.
    public var isDefaultTimeout: Bool

    public init(cycles: [FailoverCycle], detectionTimeout: String, isDefaultTimeout: Bool) {
        self.cycles = cycles
        self.detectionTimeout = detectionTimeout
        self.isDefaultTimeout = isDefaultTimeout
    }

    /// Kill to first acknowledged write, in milliseconds, over the cycles that got one.
    public var killToFirstAckMilliseconds: Spread? {
        Spread(cycles.compactMap { $0.killToFirstAckNanoseconds.map { Double($0) / 1e6 } })
    }

    /// Restart to caught-up backup, in milliseconds, over the cycles that got there.
    public var rejoinMilliseconds: Spread? {
        Spread(cycles.compactMap { $0.rejoinNanoseconds.map { Double($0) / 1e6 } })
    }

    /// Cycles where the survivor never acknowledged a write or the restarted node never caught up.
    public var failedCycles: Int {
        cycles.filter { $0.killToFirstAckNanoseconds == nil || $0.rejoinNanoseconds == nil }.count
    }
}

/// The backpressure run: the backup stopped while clients write, then continued.
public struct BackpressureResult: Sendable {
    /// How the primary came through the stopped backup.
    public enum Outcome: String, Sendable {
        /// Intake paused, and after SIGCONT the pair went on protected.
        case resumedProtected = "intake paused, resumed with the backup after SIGCONT"
        /// The primary timed the backup out and went on alone (solo) before or after intake paused.
        case wentSolo = "primary timed the backup out and continued solo"
        /// Nothing completed after SIGCONT before the deadline.
        case stalled = "no progress after SIGCONT"
        /// Intake never paused while the backup was stopped (no bound was reached, or the limit is missing).
        case neverPaused = "intake never paused while the backup was stopped"
    }

    public var unackedBytesLimit: UInt64
    public var unackedEntriesLimit: UInt64
    /// Extra memory the primary may use above its baseline plus the unacked limit (buffers, allocator slack).
    public var allowanceBytes: UInt64
    /// The primary's VmRSS just before SIGSTOP.
    public var baselineRSSBytes: UInt64
    public var peakRSSBytes: UInt64
    public var operationsPerSecondBefore: Double
    /// From SIGSTOP to the start of the first window in which (almost) nothing completed; nil if never.
    public var intakePauseNanoseconds: UInt64?
    /// Entries the primary appended to its log while the backup was stopped (its `lockstep_log_sequence` growth);
    /// nil when the primary did not answer INFO then: a paused core reads no client connection, the harness's
    /// included, and intake was watched on the bytes the clients' sockets accepted instead.
    public var entriesAppendedWhileStopped: UInt64?
    /// Largest `lockstep_log_sequence - lockstep_acked_sequence` seen while the backup was stopped: how full the
    /// unacked log got; nil when the primary answered no INFO then.
    public var unackedEntriesPeak: UInt64?
    /// Growth of the primary's `lockstep_intake_pauses` counter over the run: whether its core paused intake itself
    /// (the unacked log at its bound) rather than something upstream (a full channel) holding it back.
    public var intakePausesCounted: Int64
    /// From SIGCONT to the first completed operation; nil if none.
    public var resumeNanoseconds: UInt64?
    public var operationsPerSecondAfter: Double
    public var errors: UInt64
    public var errorSamples: [String]
    public var outcome: Outcome
    /// The primary's `lockstep_role` afterwards (`primary` or `solo`).
    public var roleAfter: String
    /// How long the backup stayed stopped.
    public var stoppedNanoseconds: UInt64

    public init(
        unackedBytesLimit: UInt64, unackedEntriesLimit: UInt64, allowanceBytes: UInt64, baselineRSSBytes: UInt64,
        peakRSSBytes: UInt64, operationsPerSecondBefore: Double, intakePauseNanoseconds: UInt64?,
        entriesAppendedWhileStopped: UInt64?, unackedEntriesPeak: UInt64?, intakePausesCounted: Int64,
        resumeNanoseconds: UInt64?, operationsPerSecondAfter: Double, errors: UInt64,
        errorSamples: [String], outcome: Outcome, roleAfter: String, stoppedNanoseconds: UInt64
    ) {
        self.unackedBytesLimit = unackedBytesLimit
        self.unackedEntriesLimit = unackedEntriesLimit
        self.allowanceBytes = allowanceBytes
        self.baselineRSSBytes = baselineRSSBytes
        self.peakRSSBytes = peakRSSBytes
        self.operationsPerSecondBefore = operationsPerSecondBefore
        self.intakePauseNanoseconds = intakePauseNanoseconds
        self.entriesAppendedWhileStopped = entriesAppendedWhileStopped
        self.unackedEntriesPeak = unackedEntriesPeak
        self.intakePausesCounted = intakePausesCounted
        self.resumeNanoseconds = resumeNanoseconds
        self.operationsPerSecondAfter = operationsPerSecondAfter
        self.errors = errors
        self.errorSamples = errorSamples
        self.outcome = outcome
        self.roleAfter = roleAfter
        self.stoppedNanoseconds = stoppedNanoseconds
    }

    /// The memory bound: peak RSS within the baseline plus the unacked-log limit plus a fixed allowance.
    public var isWithinMemoryBound: Bool {
        peakRSSBytes <= baselineRSSBytes + unackedBytesLimit + allowanceBytes
    }
}
