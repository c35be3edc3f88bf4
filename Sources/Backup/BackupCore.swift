import Arbiter
import LogChannel
import Replication

/// Facts the backup learns.
public enum BackupEvent: Equatable, Sendable {
    /// Frames decoded from the primary's channel, in arrival order; one batch earns at most one ack.
    case framesArrived([Frame])
    /// The channel to the primary closed: end of stream, a decode error, or silence past the timeout.
    case channelClosed(ChannelCloseReason)
    /// The arbiter's answer to an earlier `.takeEpoch`.
    case arbiterAnswered(ArbiterAnswer)
    /// The time in `nextWakeup` has come: retry the arbiter, replay a held-back batch, or give up on the checkpoint.
    case timerFired
    /// This node's durable log holds every entry through `sequence` (only with a data directory).
    case persisted(through: UInt64)
}

/// Orders the backup gives its driver.
public enum BackupAction: Equatable, Sendable {
    /// Write the frame (an ack) to the primary on the logging channel.
    case send(Frame)
    /// Close the channel to the primary; comes before asking for an epoch and before rejoining.
    case closeChannel
    /// Try to take `epoch`; the answer returns as `.arbiterAnswered`.
    case takeEpoch(UInt64)
    /// The backup owns `epoch` now; its state holds every entry through `lastSequence`.
    case becomePrimary(epoch: UInt64, lastSequence: UInt64, after: PrimaryLossReason)
    /// This state is of no use (never protecting, diverged, or the primary is alive elsewhere):
    /// drop it and join the live primary as a fresh backup.
    case rejoin(RejoinReason)
    /// A line for the log; it changes nothing in the protocol.
    case note(String)
    /// Only with a data directory: the node's durable state from before is of no use any more (a live primary is
    /// sending a checkpoint), so drop it; the log starts again with the entries after the checkpoint.
    case discardDurableState
    /// Only with a data directory: append entry `sequence` to the durable log; `.persisted` reports it.
    case persist(epoch: UInt64, sequence: UInt64, LogEntry)
    /// Only with a data directory: the checkpoint is installed; write the machine as it now is as a snapshot, the
    /// base the durable log continues from.
    case persistInstalledState
    /// Only with a data directory: this backup protects the primary of `epoch` from entry `fromSequence` on. Once
    /// durable (after the snapshot and the log before that entry), it lets this node recover alone.
    case markProtecting(epoch: UInt64, fromSequence: UInt64)
}

/// The backup's bounds; checked with the primary's at startup.
public struct BackupLimits: Sendable, Equatable {
    /// Largest checkpoint accepted. Chunks go into the restorer as they arrive, so this bounds no buffer; it stops a
    /// peer that would stream for ever (a bug or a hostile peer). 1 TiB is above any state a node holds in memory.
    public var checkpointBytesLimit = 1 << 40
    /// Entries received and not yet replayed. While a checkpoint installs, every entry the primary logs meanwhile
    /// waits here, and the primary stops at `PrimaryLimits.unackedEntriesCapacity` of them (checked at startup to be
    /// below this); after that, the primary keeps the lag below its replay-lag limit. Reaching this is a protocol
    /// violation, answered by rejoining.
    public var pendingEntriesLimit = 65_536
    /// Entries replayed per event before the backup acks and yields; how a slow backup is simulated.
    public var replayBatchLimit = Int.max
    /// How soon to ask an arbiter that did not answer again.
    public var arbiterRetryInterval: Duration = .milliseconds(50)
    /// While the arbiter stays unavailable, its failure is logged at the first retry and then at most once per this
    /// (with the count held back): one line per retry would be 20 a second.
    public var arbiterFailureNoteInterval: Duration = .seconds(5)
    /// How long a joining backup waits for the first checkpoint chunk, and then for each next one, before trying
    /// again: a primary that accepted the channel but never answers the hello, or stopped streaming, must not keep it
    /// waiting for ever while its heartbeats keep the channel open. A primary sends the next chunks as soon as the
    /// backup's ack reaches it, so at 2 s even a 256 KiB chunk needs a link slower than 1 Mbit/s to reach it.
    public var checkpointWaitLimit: Duration = .seconds(2)

    /// While a checkpoint installs, its progress is logged at most once per this (and at its start and end).
    public var checkpointProgressNoteInterval: Duration = .seconds(2)
    /// The read lease this backup promises in its hello: having lost the primary, it asks the arbiter for the next
    /// epoch no sooner than this long after the last frame it received, so that the primary may answer reads without
    /// a round trip for that long after sending a frame this backup acks. It delays going live only when the loss is
    /// noticed sooner (the channel closed); a silent primary is noticed after the much longer peer timeout. Short, so
    /// that a failover stays fast; the primary renews it while reads keep coming.
    public var readLease: Duration = .milliseconds(10)

    /// The default bounds.
    public init() {}
}

/// The backup's protocol: receive, ack, replay, check digests, and the go-live sequence.
///
/// A plain value without I/O (STYLE 1). Acks are cumulative (`received`, `applied`), one per batch of
/// frames. The backup may go live only after the primary marked it `protecting`: before that the
/// primary released replies that the backup may not hold.
public struct BackupCore<Machine: StateMachine> {
    /// Where the backup is: checkpoint, then following the log, then going live or finished.
    public enum Phase: Equatable, Sendable {
        /// Collecting checkpoint chunks.
        case awaitingCheckpoint
        /// Replaying the primary's log.
        case following
        /// The primary is gone; asking the arbiter for `epoch`.
        case goingLive(epoch: UInt64)
        /// Handed to the node: it became primary or rejoins.
        case finished
    }

    /// The bounds this backup keeps.
    public let limits: BackupLimits
    /// The primary's epoch, learned from its first frame.
    public private(set) var epoch: UInt64
    /// The replicated state: restored from the checkpoint, then changed only by replaying the primary's entries.
    public private(set) var machine: Machine
    /// Where the backup is in its life; `.finished` means the node has taken over and no more events matter.
    public private(set) var phase: Phase = .awaitingCheckpoint
    /// The highest log sequence held with no gap before it; acked to the primary as `received`.
    public private(set) var received: UInt64 = 0
    /// The highest log sequence replayed into `machine`; never above `received`.
    public private(set) var applied: UInt64 = 0
    /// Whether the primary marked this backup protecting: only then may it go live.
    public private(set) var isProtecting = false
    /// The last entry this node's durable log holds; nil when the node keeps no log. Acks never go past it, so an
    /// ack says "held durably here", which the recovery rule relies on (`NodeCore.recoveryProof`).
    public private(set) var persistedThrough: UInt64?
    /// Deliver `.timerFired` no later than this.
    public private(set) var nextWakeup: Instant?

    /// The checkpoint being installed, and how many of its bytes have arrived.
    private var restorer: Machine.Restorer?
    private var checkpointByteCount = 0
    /// The sequence the checkpoint follows, from its first chunk; nil before it.
    private var checkpointSequence: UInt64?
    /// The checkpoint's size as the primary estimated it, from its first chunk: the total progress reports show.
    private var checkpointEstimatedBytes: Int?
    /// Chunks installed so far: the next chunk must have this index.
    private var installedChunks: UInt32 = 0
    /// `installedChunks` when the last checkpoint ack went out: a batch that installs more earns one.
    private var ackedChunks: UInt32 = 0
    /// While installing: the highest entry buffered with no gap after the checkpoint's sequence.
    private var bufferedThrough: UInt64 = 0
    /// When the first chunk arrived, and the latest: the span progress is measured over.
    private var installStartedAt: Instant?
    private var lastChunkAt: Instant?
    /// When the install's progress was last logged.
    private var lastProgressNoteAt: Instant?
    private var pending: BoundedQueue<(sequence: UInt64, entry: LogEntry)>
    private var arbiterRetryAt: Instant?
    /// When frames from the primary last arrived: the read lease promised in the hello runs from here.
    private var lastPrimaryFrameAt: Instant?
    /// The arbiter's failures while going live, logged rate-limited (`limits.arbiterFailureNoteInterval`).
    private var arbiterFailures: RepeatedNote
    /// How the primary was lost, once it was and this backup is going live: the new role's reason.
    private var primaryLoss: PrimaryLossReason?
    private var checkpointDeadline: Instant?

    /// A backup that said hello to a primary at `epoch` at `now` and waits for its checkpoint;
    /// `machine` is an empty instance the checkpoint will overwrite. `isDurable`: the node keeps a durable log,
    /// and acks only what it holds.
    public init(epoch: UInt64, machine: Machine, limits: BackupLimits, at now: Instant, isDurable: Bool = false) {
        self.persistedThrough = isDurable ? 0 : nil
        self.epoch = epoch
        self.machine = machine
        self.limits = limits
        self.pending = BoundedQueue(capacity: limits.pendingEntriesLimit)
        self.arbiterFailures = RepeatedNote(interval: limits.arbiterFailureNoteInterval)
        self.checkpointDeadline = now + limits.checkpointWaitLimit
        self.nextWakeup = checkpointDeadline
    }

    /// Entries received but not yet replayed: what a failover must replay before going live.
    public var replayLag: UInt64 { received - applied }

    /// Fills in the role and positions this core reports (`NodeCore.status` adds the primary's address).
    /// Mutating only so that `NodeCore` reaches it in place through its optional: a non-mutating call there
    /// would copy the whole core first.
    public mutating func report(into status: inout NodeStatus) {
        status.role = .backup
        status.epoch = epoch
        status.logSequence = received
        status.ackedSequence = received
        status.appliedSequence = applied
        status.replayLag = replayLag
        status.peerState = isProtecting ? .connected : .sync
        status.checkpoint = installProgress
    }

    /// What an idle channel carries from this backup: its latest ack, so that an ack lost on the way is repeated.
    ///
    /// While installing, that is the checkpoint ack (the primary's window waits for it); once installed, the
    /// cumulative log ack. Before the first chunk there is nothing to ack, and a plain heartbeat keeps the channel
    /// alive: the primary reads a log ack as proof that the checkpoint is in, so none goes out before it is.
    public var heartbeat: Frame {
        switch phase {
        case .awaitingCheckpoint:
            guard let checkpointSequence, installedChunks > 0 else { return .heartbeat(epoch: epoch, sequence: 0) }
            return .checkpointAck(epoch: epoch, sequence: checkpointSequence, chunkIndex: installedChunks - 1)
        case .following, .goingLive, .finished:
            return ack
        }
    }

    /// The cumulative ack: what arrived, and what was replayed, but never past what is durable here.
    private var ack: Frame {
        let held = min(received, persistedThrough ?? received)
        return .ack(epoch: epoch, received: held, applied: min(applied, held))
    }

    /// The checkpoint install in progress, if one is.
    private var installProgress: CheckpointProgress? {
        guard phase == .awaitingCheckpoint, let checkpointSequence, let installStartedAt, let lastChunkAt else {
            return nil
        }
        return CheckpointProgress(
            direction: .receiving, sequence: checkpointSequence, bytes: checkpointByteCount,
            chunks: Int(installedChunks), estimatedBytes: checkpointEstimatedBytes,
            elapsed: lastChunkAt.since(installStartedAt))
    }

    /// Takes one event that happened at `now` and returns the actions to perform, in array order.
    public mutating func handle(_ event: consuming BackupEvent, at now: Instant) -> [BackupAction] {
        var actions: [BackupAction] = []
        handle(event, at: now, into: &actions)
        return actions
    }

    /// Appends the event's actions to `actions`, so a caller handling many events can reuse one array.
    ///
    /// Consumed, as are the frames it brings: an entry's payload that reaches `LogEntry(decoding:)` with no other owner
    /// becomes its command without a copy.
    public mutating func handle(_ event: consuming BackupEvent, at now: Instant, into actions: inout [BackupAction]) {
        switch consume event {
        case .framesArrived(var frames):
            guard phase == .awaitingCheckpoint || phase == .following else { break }
            lastPrimaryFrameAt = now
            let receivedBefore = received, appliedBefore = applied, phaseBefore = phase
            var isAnyAckWorthy = false
            for index in frames.indices {
                let frame = frames.take(at: index, leaving: .busy(milliseconds: 0))
                if frame.isAckWorthy { isAnyAckWorthy = true }
                if phase == .awaitingCheckpoint || phase == .following { receive(frame, at: now, into: &actions) }
            }
            replay(upTo: limits.replayBatchLimit, into: &actions)
            if installedChunks > ackedChunks, let checkpointSequence, phase != .finished {
                // One cumulative ack per batch lets the primary's window move on; before the log ack, so the primary
                // knows the checkpoint is in when the ack of the buffered entries arrives.
                ackedChunks = installedChunks
                actions.append(
                    .send(.checkpointAck(epoch: epoch, sequence: checkpointSequence, chunkIndex: installedChunks - 1)))
            }
            // Fields compared one by one: comparing them as a tuple ran generic code, per batch.
            let isChanged = received != receivedBefore || applied != appliedBefore || phase != phaseBefore
            if phase == .following, isChanged || isAnyAckWorthy {
                actions.append(.send(ack))
            }
        case .channelClosed(let reason):
            primaryLost(.channelClosed(reason), at: now, into: &actions)
        case .arbiterAnswered(let answer):
            arbiterAnswered(answer, at: now, into: &actions)
        case .persisted(let sequence):
            guard let persisted = persistedThrough, sequence > persisted else { break }
            persistedThrough = sequence
            if phase == .following { actions.append(.send(ack)) }
        case .timerFired:
            if phase == .following, !pending.isEmpty {
                replay(upTo: limits.replayBatchLimit, into: &actions)
                actions.append(.send(ack))
            }
            if let due = arbiterRetryAt, now >= due, case .goingLive(let wanted) = phase {
                arbiterRetryAt = nil
                actions.append(.takeEpoch(wanted))
            }
            if let due = checkpointDeadline, now >= due, phase == .awaitingCheckpoint {
                finish(rejoin: .checkpointTimedOut(limits.checkpointWaitLimit), into: &actions)
            }
        }
        if phase != .awaitingCheckpoint { checkpointDeadline = nil }
        let replayAt = phase == .following && !pending.isEmpty ? now : nil
        nextWakeup = Instant.earliest(Instant.earliest(arbiterRetryAt, checkpointDeadline), replayAt)
        precondition(applied <= received, "applied an entry that never arrived")
    }

    // MARK: - Receive and replay

    private mutating func receive(_ frame: consuming Frame, at now: Instant, into actions: inout [BackupAction]) {
        if phase == .awaitingCheckpoint, case .checkpoint(_, _, 0, _, _, _) = frame {
            epoch = frame.epoch  // the primary's epoch is what its checkpoint says, whatever we read before
        }
        if frame.epoch != epoch, frame.kind != .refuse {
            actions.append(.note("frame from epoch \(frame.epoch) while following epoch \(epoch); ignored"))
            return
        }
        switch consume frame {
        case .checkpoint(_, let sequence, let chunkIndex, let isLast, let estimatedBytes, let bytes):
            receiveChunk(
                sequence: sequence, chunkIndex: chunkIndex, isLast: isLast, estimatedBytes: estimatedBytes,
                bytes: bytes, at: now, into: &actions)
        case .entry(_, let sequence, let payload):
            // While the checkpoint installs, entries after its sequence wait in `pending`; before its first chunk
            // there is nothing they could follow.
            let holding = phase == .following ? received : bufferedThrough
            guard phase == .following || checkpointSequence != nil else {
                finish(rejoin: .logOutOfOrder(sequence: sequence, holding: holding), into: &actions)
                return
            }
            if sequence <= holding { return }  // a duplicate of what we hold
            guard sequence == holding + 1 else {
                finish(rejoin: .logOutOfOrder(sequence: sequence, holding: holding), into: &actions)
                return
            }
            let entry: LogEntry
            do { entry = try LogEntry(decoding: payload) } catch {
                finish(rejoin: .entryUnreadable(sequence: sequence, "\(error)"), into: &actions)
                return
            }
            if persistedThrough != nil { actions.append(.persist(epoch: epoch, sequence: sequence, entry)) }
            guard pending.append((sequence, consume entry)) else {
                finish(rejoin: .replayLagExceeded(limits.pendingEntriesLimit), into: &actions)
                return
            }
            if phase == .following { received = sequence } else { bufferedThrough = sequence }
        case .protecting(_, let sequence):
            guard phase == .following, sequence == received else {
                finish(rejoin: .logOutOfOrder(sequence: sequence, holding: received), into: &actions)
                return
            }
            isProtecting = true
            actions.append(.note("protecting the primary from sequence \(sequence + 1)"))
            if persistedThrough != nil { actions.append(.markProtecting(epoch: epoch, fromSequence: sequence + 1)) }
        case .handover(_, let sequence):
            actions.append(.note("primary handed over at sequence \(sequence)"))
            primaryLost(.handedOver(sequence: sequence), at: now, into: &actions)
        case .refuse(_, let reason):
            finish(rejoin: .refused(reason), into: &actions)
        case .ack, .checkpointAck, .heartbeat, .hello, .challenge, .proof, .busy:
            // Liveness is the transport's business; acks and hellos are not for a backup; the handshake's frames
            // never get past the transport (ChannelHandshake).
            break
        }
    }

    /// One chunk of the primary's checkpoint. Apart from `receive`, and never inlined there: the restorer's type
    /// is the machine's, and code using it looks its metadata up on entry, which `receive` would do for every frame.
    @inline(never)
    private mutating func receiveChunk(
        sequence: UInt64, chunkIndex: UInt32, isLast: Bool, estimatedBytes: UInt64, bytes: [UInt8], at now: Instant,
        into actions: inout [BackupAction]
    ) {
        guard phase == .awaitingCheckpoint else { return }
        if checkpointSequence == nil, chunkIndex == 0 {
            checkpointSequence = sequence
            checkpointEstimatedBytes = Int(exactly: estimatedBytes)  // the decoder holds it to Int.max
            bufferedThrough = sequence
            installStartedAt = now
            if persistedThrough != nil {
                persistedThrough = sequence
                actions.append(.discardDurableState)
            }
            actions.append(
                .note("installing a checkpoint at sequence \(sequence) (~\(estimatedBytes) bytes) as it arrives"))
        }
        if checkpointSequence == sequence, chunkIndex < installedChunks { return }  // a duplicate of one installed
        guard checkpointSequence == sequence, chunkIndex == installedChunks,
            checkpointByteCount + bytes.count <= limits.checkpointBytesLimit
        else {
            finish(rejoin: .checkpointChunkMisfit(chunkIndex: chunkIndex), into: &actions)
            return
        }
        checkpointByteCount += bytes.count
        if restorer == nil { restorer = machine.makeRestorer() }
        do { try restorer!.consume(bytes) } catch {
            finish(rejoin: .checkpointUnreadable("\(error)"), into: &actions)
            return
        }
        installedChunks += 1
        lastChunkAt = now
        checkpointDeadline = now + limits.checkpointWaitLimit
        if !isLast, let progress = installProgress,
            now.since(lastProgressNoteAt ?? installStartedAt ?? now) >= limits.checkpointProgressNoteInterval
        {
            lastProgressNoteAt = now
            actions.append(.note("checkpoint from the primary: \(progress.summary)"))
        }
        if isLast { installCheckpoint(at: sequence, at: now, into: &actions) }
    }

    /// The last chunk is in: the machine is whole, and the entries buffered meanwhile count as received, to replay
    /// and ack in this same batch.
    private mutating func installCheckpoint(at sequence: UInt64, at now: Instant, into actions: inout [BackupAction]) {
        do {
            machine = try restorer!.finish()
        } catch {
            finish(rejoin: .checkpointUnreadable("\(error)"), into: &actions)
            return
        }
        restorer = nil
        let progress = installProgress
        received = bufferedThrough
        applied = sequence
        phase = .following
        if persistedThrough != nil { actions.append(.persistInstalledState) }
        let buffered = bufferedThrough - sequence
        actions.append(
            .note("installed the checkpoint at sequence \(sequence): \(progress?.summary ?? ""), "
                + "total \(now.since(installStartedAt ?? now)); \(buffered) entries buffered meanwhile to replay"))
    }

    private mutating func replay(upTo count: Int, into actions: inout [BackupAction]) {
        var done = 0
        while done < count, phase == .following, let (sequence, entry) = pending.popFirst() {
            done += 1
            switch machine.replay(entry) {
            case .replayed:
                applied = sequence
            case .digestMismatch(let expected, let actual):
                finish(
                    rejoin: .diverged(sequence: sequence, "digest \(hex(actual)), primary has \(hex(expected))"),
                    into: &actions)
                return
            case .diverged(let divergence):
                finish(rejoin: .diverged(sequence: sequence, divergence), into: &actions)
                return
            }
        }
    }

    // MARK: - Going live

    private mutating func primaryLost(
        _ reason: PrimaryLossReason, at now: Instant, into actions: inout [BackupAction]
    ) {
        guard phase == .following || phase == .awaitingCheckpoint else { return }
        guard isProtecting else {
            finish(rejoin: .primaryLostBeforeProtecting(reason), into: &actions)
            return
        }
        primaryLoss = reason
        // Replay everything received first: the new primary must hold every reply ever released.
        replay(upTo: Int.max, into: &actions)
        guard phase == .following else { return }
        phase = .goingLive(epoch: epoch + 1)
        actions.append(.closeChannel)
        // A primary that handed over stopped answering before it said so; any other may still be answering reads
        // under the lease this backup promised (`BackupLimits.readLease`), so the arbiter is asked once it has run out.
        if case .channelClosed = reason, let leaseEnd = lastPrimaryFrameAt.map({ $0 + limits.readLease }),
            now < leaseEnd
        {
            arbiterRetryAt = leaseEnd
            actions.append(
                .note("primary lost (\(reason)); replayed through \(applied), asking for epoch \(epoch + 1) when its "
                    + "read lease ends"))
            return
        }
        actions.append(.takeEpoch(epoch + 1))
        actions.append(.note("primary lost (\(reason)); replayed through \(applied), asking for epoch \(epoch + 1)"))
    }

    private mutating func arbiterAnswered(_ answer: ArbiterAnswer, at now: Instant, into actions: inout [BackupAction]) {
        guard case .goingLive(let wanted) = phase else { return }
        switch answer {
        case .took(.granted(let record)) where record.epoch == wanted:
            guard let loss = primaryLoss else { preconditionFailure("going live with no primary lost") }
            phase = .finished
            epoch = wanted
            actions.append(
                .becomePrimary(epoch: wanted, lastSequence: applied, after: loss))
        case .took(.lost(let winner)):
            finish(rejoin: .lostEpoch(wanted, winner: winner.claim.nodeName), into: &actions)
        case .took(.granted), .current:
            // Not an answer to this question (a stale one, say): ask again rather than wait for ever.
            arbiterRetryAt = now + limits.arbiterRetryInterval
            actions.append(.note("unexpected arbiter answer \(answer) while going live; asking again"))
        case .failed(let error):
            arbiterRetryAt = now + limits.arbiterRetryInterval
            if let heldBack = arbiterFailures.occurred(at: now) {
                actions.append(
                    .note("arbiter unavailable (\(error)); not going live, retrying"
                        + RepeatedNote.suffix(heldBack: heldBack)))
            }
        }
    }

    private mutating func finish(rejoin reason: RejoinReason, into actions: inout [BackupAction]) {
        phase = .finished
        pending.removeAll()
        restorer = nil
        actions.append(.closeChannel)
        actions.append(.rejoin(reason))
    }
}

extension Frame {
    /// Frames the primary expects an answer to even when nothing new was received.
    fileprivate var isAckWorthy: Bool {
        switch self {
        case .heartbeat, .protecting: true
        default: false
        }
    }
}

private func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}
