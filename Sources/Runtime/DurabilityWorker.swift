import Durability
import Glibc
import LogChannel
import Posix
import Replication
import Synchronization

/// How often the durable log reaches the disk, as Redis's `appendfsync`.
public enum FsyncPolicy: String, Sendable, CaseIterable {
    /// After every batch, before its replies or acks count it as persisted (group commit): survives a power cut.
    case always
    /// Once a second; an entry counts as persisted once the kernel has it: survives the process dying, and a power
    /// cut loses at most about a second.
    case everysec
    /// Never asked for (the kernel writes out when it likes); an entry counts once the kernel has it.
    case no
}

/// One helper thread that owns the node's data directory: it appends the entries the core persists, writes
/// snapshots chunk by chunk between batches, writes the markers, and reports back to the loop.
///
/// Jobs run in the order the core gave them, and `.persisted(through:)` goes out only after everything queued
/// before it is done, which is what lets a marker written for an epoch precede every entry of it
/// (`NodeCore+Recovery`). A snapshot is written a chunk (`DurabilityLimits.snapshotChunkBytes`) at a time between
/// batches, so entries never wait behind a whole snapshot; once it is in place, the log segments behind it go.
/// A failed write keeps what it could not write and is retried every `failureRetryInterval`; the loop hears of the
/// failure and of the recovery once each. A failed sync is worse: Linux may have dropped the pages it could not
/// write and report the next sync clean, so the log is not trusted past its last good sync. The worker then starts
/// the log again after a fresh snapshot of the whole state, which it asks the loop for; entries wait meanwhile (the
/// loop refuses new data commands), and those the snapshot holds are dropped.
final class DurabilityWorker<Snapshot: StateSnapshot>: @unchecked Sendable {  // unchecked: jobs carry snapshots,
    // frozen copy-on-write values that this thread only reads
    enum Job: @unchecked Sendable {
        case append(epoch: UInt64, sequence: UInt64, LogEntry)
        case discard
        case snapshot(Snapshot, epoch: UInt64, sequence: UInt64)
        case markOwned(epoch: UInt64)
        case markProtecting(epoch: UInt64, fromSequence: UInt64)
    }

    /// What the worker tells the loop.
    enum Report: Sendable {
        /// The log holds every entry through `through` since the `generation`th discard.
        case persisted(generation: UInt64, through: UInt64)
        /// Writing fails (the cause), or works again (nil).
        case failure(String?)
        /// The log has grown by `snapshotAfterLogBytes` since the last snapshot: the loop should take one.
        case snapshotWanted
        /// A line for the node's log.
        case note(String)
    }

    /// Jobs queued and not yet taken. The cores bound the entries they leave unpersisted far below it; reaching it
    /// means the thread is stuck, and the node then reports the log as failing rather than queue without end.
    static var queuedJobsLimit: Int { 1 << 20 }
    /// How soon a failed write is tried again.
    static var failureRetryInterval: Duration { .milliseconds(100) }
    /// How often the loop is asked again for a snapshot it has not sent.
    static var snapshotRequestInterval: Duration { .seconds(1) }
    /// How often `everysec` syncs.
    static var syncInterval: Duration { .seconds(1) }
    /// How long to wait before posting a report again when the loop's task queue is full.
    static var postRetryDelay: Duration { .milliseconds(1) }

    private struct Queue {
        var jobs: [Job] = []
        var isStopping = false
        var isHalted = false
    }

    private let directory: DataDirectory
    private var writer: LogWriter
    private let policy: FsyncPolicy
    private let limits: DurabilityLimits
    private let snapshotAfterLogBytes: Int
    private let queue = Mutex(Queue())
    private let helper = HelperThread()

    // Owned by the worker thread once it starts.
    private var generation: UInt64 = 0
    private var backlog: [Job] = []
    private var snapshotInFlight: (writer: SnapshotWriter, snapshot: Snapshot, sequence: UInt64)?
    /// After a discard, until the first snapshot is in place: the log has no base yet.
    private var isBaseMissing = false
    private var protectingPending: (epoch: UInt64, fromSequence: UInt64)?
    private var logBytesSinceSnapshot = 0
    /// When the loop was last asked for a snapshot.
    private var lastSnapshotRequest: Instant?
    private var failure: String?
    /// Where the log stands after a failed sync: waiting for the loop's snapshot, or writing it (it holds every entry
    /// through `through`); nil while the log is trusted.
    private var rebase: Rebase?
    private enum Rebase: Equatable {
        case awaitingSnapshot
        case snapshotting(through: UInt64)
    }
    /// The entry the last rebase's snapshot ends at: what is durable before the new log's first entry.
    private var baseSequence: UInt64 = 0
    private var lastSync = Instant(nanoseconds: 0)

    init(
        directory: DataDirectory, writer: LogWriter, policy: FsyncPolicy, limits: DurabilityLimits,
        snapshotAfterLogBytes: Int
    ) {
        self.directory = directory
        self.writer = writer
        self.policy = policy
        self.limits = limits
        self.snapshotAfterLogBytes = snapshotAfterLogBytes
    }

    /// Starts the thread; `deliver` posts one report to the loop and says whether it was queued.
    func start(deliver: @escaping @Sendable (Report) -> Bool) throws(SystemError) {
        try helper.start { [self] in work(deliver: deliver) }
    }

    /// Queues `jobs` in order; false (nothing queued) past `queuedJobsLimit` or once stopping. Loop thread.
    func submit(_ jobs: [Job]) -> Bool {
        let isQueued = queue.withLock { queue -> Bool in
            guard !queue.isStopping, queue.jobs.count + jobs.count <= Self.queuedJobsLimit else { return false }
            queue.jobs.append(contentsOf: jobs)
            return true
        }
        if isQueued { helper.wake() }
        return isQueued
    }

    /// Finishes what is queued (a last write and sync; one attempt, if writing fails), then ends the thread. Call
    /// `join()` after.
    func finish() {
        queue.withLock { $0.isStopping = true }
        helper.wake()
    }

    /// Stops at once, like a crash: what is queued is dropped. Any thread.
    func halt() {
        queue.withLock {
            $0.isStopping = true
            $0.isHalted = true
            $0.jobs.removeAll()
        }
        helper.wake()
    }

    /// Waits for the thread to end.
    func join() {
        helper.join()
    }

    // MARK: The worker thread

    /// Offers `report` to the loop until it takes it; false once halted.
    private func post(_ report: Report, deliver: @Sendable (Report) -> Bool) -> Bool {
        while !deliver(report) {
            if queue.withLock({ $0.isHalted }) { return false }
            sleep(for: Self.postRetryDelay)
        }
        return true
    }

    private func work(deliver: @Sendable (Report) -> Bool) {
        while true {
            if snapshotInFlight != nil || !backlog.isEmpty && rebase == nil && failure == nil {
                helper.forgetWakes()  // a snapshot is being written: look at the queue between its chunks
            } else if failure != nil {
                helper.waitForWake(timeout: Self.failureRetryInterval)
            } else {
                if policy == .everysec, (writer.writtenThrough ?? 0) > (writer.syncedThrough ?? 0) {
                    helper.waitForWake(timeout: Self.syncInterval)
                } else {
                    helper.waitForWake()
                }
            }
            let (taken, isStopping, isHalted) = queue.withLock { queue -> ([Job], Bool, Bool) in
                let jobs = queue.jobs
                queue.jobs.removeAll(keepingCapacity: true)
                return (jobs, queue.isStopping, queue.isHalted)
            }
            if isHalted { return }
            backlog.append(contentsOf: taken)
            let failureBefore = failure
            var reports: [Report] = []
            do throws(DurabilityError) {
                try runBacklog()
                if rebase == nil {
                    try writer.write()
                    if policy == .always || isStopping
                        || (policy == .everysec && Self.now().since(lastSync) >= Self.syncInterval)
                    {
                        try writer.sync()
                        lastSync = Self.now()
                    }
                    let through = policy == .always || isStopping ? writer.syncedThrough : writer.writtenThrough
                    reports.append(.persisted(generation: generation, through: through ?? baseSequence))
                }
                try writeSnapshotChunk(into: &reports)
                try writeProtectingMarkerIfDue()
                if rebase == nil { failure = nil }
            } catch {
                if case .writerBroken = error, rebase == nil {
                    rebase = .awaitingSnapshot
                    lastSnapshotRequest = nil
                    snapshotInFlight?.writer.abandon()
                    snapshotInFlight = nil
                }
                failure = rebase == nil ? "\(error)"
                    : "a sync of the durable log failed (\(error)); it starts again from a snapshot of the state"
            }
            if failure != failureBefore {
                // A recovery goes first: the loop refuses data commands until it hears of it, and the persisted
                // report releases replies whose clients may send their next command at once.
                reports.insert(.failure(failure), at: failure == nil ? 0 : reports.endIndex)
            }
            if snapshotInFlight == nil, logBytesSinceSnapshot >= snapshotAfterLogBytes || rebase != nil,
                lastSnapshotRequest.map({ Self.now().since($0) >= Self.snapshotRequestInterval }) ?? true
            {
                // Asked again now and then: a node without a machine at that moment (joining) takes none.
                lastSnapshotRequest = Self.now()
                reports.append(.snapshotWanted)
            }
            for report in reports where !post(report, deliver: deliver) { return }
            // A node that stops with its disk failing stops all the same: what is unwritten was never acked.
            if isStopping, backlog.isEmpty || failure != nil {
                snapshotInFlight?.writer.abandon()
                return
            }
        }
    }

    /// Performs the jobs taken, in order; a job that fails stays first in `backlog`, to be tried again. While the log
    /// starts again (`rebase`), entries wait, and those the new snapshot holds are dropped.
    private func runBacklog() throws(DurabilityError) {
        var held: [Job] = []
        var done = 0
        defer { backlog = held + backlog.dropFirst(done) }
        for job in backlog {
            switch job {
            case .append(_, let sequence, _) where rebase != nil:
                if case .snapshotting(let through) = rebase, sequence <= through {} else { held.append(job) }
            case .append(let epoch, let sequence, let entry):
                if try !writer.append(entry, epoch: epoch, sequence: sequence) {
                    try writer.write()  // the pending buffer is full: one batch's bound
                    guard try writer.append(entry, epoch: epoch, sequence: sequence) else {
                        preconditionFailure("an entry that fits no empty pending buffer passed the record limit")
                    }
                }
                logBytesSinceSnapshot += entry.encodedByteCount
            case .discard:
                snapshotInFlight?.writer.abandon()
                snapshotInFlight = nil
                protectingPending = nil
                let markers = DurableMarkers(directory)
                try markers.remove(.protecting)  // first: a marker must never outlive the state it vouches for
                try markers.remove(.ownedEpoch)
                if rebase == nil { try writer.removeAll() }  // else the rebase removes the whole log
                if rebase != nil { rebase = .awaitingSnapshot }
                try SnapshotFile.removeAll(in: directory)
                isBaseMissing = true
                logBytesSinceSnapshot = 0
                baseSequence = 0
                generation += 1
            case .snapshot(let snapshot, let epoch, let sequence):
                snapshotInFlight?.writer.abandon()
                snapshotInFlight = (try SnapshotWriter(epoch: epoch, sequence: sequence, in: directory), snapshot, sequence)
                if rebase != nil {
                    rebase = .snapshotting(through: sequence)
                    held.removeAll { if case .append(_, let held, _) = $0 { held <= sequence } else { false } }
                }
            case .markOwned(let epoch):
                try DurableMarkers(directory).write(.ownedEpoch(epoch: epoch, persistedBeforeReleasing: true))
            case .markProtecting(let epoch, let fromSequence):
                protectingPending = (epoch, fromSequence)
            }
            done += 1
        }
    }

    /// Writes the next chunk of the snapshot in flight; once the last is in, puts it in place and drops the log
    /// segments it covers.
    private func writeSnapshotChunk(into reports: inout [Report]) throws(DurabilityError) {
        do {
            try continueSnapshot(into: &reports)
        } catch {
            // A snapshot that failed is started again from a fresh one; the previous snapshot stays current.
            snapshotInFlight?.writer.abandon()
            snapshotInFlight = nil
            lastSnapshotRequest = nil
            if rebase != nil { rebase = .awaitingSnapshot }
            throw error
        }
    }

    private func continueSnapshot(into reports: inout [Report]) throws(DurabilityError) {
        guard var inFlight = snapshotInFlight else { return }
        if !inFlight.snapshot.isFinished {
            try inFlight.writer.write(inFlight.snapshot.nextChunk(byteLimit: limits.snapshotChunkBytes))
            snapshotInFlight = inFlight
            if !inFlight.snapshot.isFinished { return }
        }
        let file = try inFlight.writer.finish()
        snapshotInFlight = nil
        isBaseMissing = false
        logBytesSinceSnapshot = 0
        if case .snapshotting = rebase {
            // Everything the broken log held is in the snapshot: the log starts again after it.
            writer = try LogWriter.startingOver(in: directory, limits: limits)
            rebase = nil
            baseSequence = file.sequence
            reports.append(.persisted(generation: generation, through: file.sequence))
            reports.append(.note("the durable log starts again after the snapshot at entry \(file.sequence) (\(file.path))"))
            return
        }
        let removed = try writer.truncate(through: file.sequence)
        reports.append(.note("snapshot at entry \(file.sequence) in place (\(file.path)); removed \(removed) log segment(s) behind it"))
    }

    /// The `protecting` marker goes once the state it vouches for is durable: the snapshot since the last discard,
    /// and the log through the entry before the one it names.
    private func writeProtectingMarkerIfDue() throws(DurabilityError) {
        guard let pending = protectingPending, !isBaseMissing else { return }
        guard rebase == nil else { return }
        let durable = (policy == .always ? writer.syncedThrough : writer.writtenThrough) ?? baseSequence
        guard durable + 1 >= pending.fromSequence else { return }
        try DurableMarkers(directory).write(.protecting(epoch: pending.epoch, fromSequence: pending.fromSequence))
        protectingPending = nil
    }

    private static func now() -> Instant { Instant(nanoseconds: monotonicNanoseconds()) }
}
