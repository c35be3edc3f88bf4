import Arbiter
import LogChannel
import Replication

/// The primary's protocol: execute, record, append, output rule, solo, re-protection, backpressure.
///
/// A plain value without I/O (STYLE 1). It executes client commands in one total order on `machine`,
/// records their nondeterminism into log entries, ships them to the backup and releases each reply
/// only when the backup's cumulative ack covers its entry — or at once while legitimately solo (it
/// took the epoch at the arbiter and no backup protects it).
public struct PrimaryCore<Machine: StateMachine> {
    private struct Withheld {
        var sequence: UInt64
        var reply: Reply
    }

    /// Hellos refused because a backup was protecting; counted so the log says so at the first and every
    /// `refusedHellosLogEvery`th, not once per retry.
    private var refusedHellos = 0
    /// See `refusedHellos`.
    static var refusedHellosLogEvery: Int { 1_000 }

    /// The bounds this primary keeps.
    public let limits: PrimaryLimits
    /// The epoch this primary owns; it moves up only when the arbiter grants the next one after a lost backup.
    public private(set) var epoch: UInt64
    /// The replicated state, changed only by commands and ticks in log order.
    public private(set) var machine: Machine
    /// Highest entry appended to the log.
    public private(set) var lastSequence: UInt64
    /// Where the primary stands with respect to the output rule.
    public private(set) var standing: Standing
    /// The backup being brought up or protecting this primary; nil when none is linked.
    public private(set) var backup: BackupLink?
    /// The last entry this node's durable log holds; nil when the node keeps no log. A reply leaves only once its
    /// entry is here too, so the owner of an epoch holds on its own disk every reply it released (the recovery rule
    /// of `NodeCore.recoveryProof`).
    public private(set) var persistedThrough: UInt64?
    /// Whether the last intake action told the runtime to stop reading client commands.
    public private(set) var isIntakePaused = false
    private var isStopRequested = false
    /// Deliver `.timerFired` no later than this.
    public private(set) var nextWakeup: Instant?

    /// Records the time and randomness each command and tick reads from the entropy source, for its entry.
    private var recorder: ApplyContext
    /// Replies held back until the backup acks the entries that produced them (DESIGN, output rule).
    /// Capped at `limits.withheldRepliesLimit`: intake pauses long before it fills.
    private var withheld: BoundedQueue<Withheld>
    /// Sizes of entries sent and not yet acked, for the byte bound, and when each was sent, for the read lease;
    /// capped like the entries.
    private var unacked: BoundedQueue<(sequence: UInt64, bytes: Int, sentAt: Instant)>
    private var unackedBytes = 0
    /// Entries appended while an earlier shipment to a protecting backup is unacked, in order, shipped together when
    /// its ack comes (group commit clocked by the acks), or once they fill `limits.heldBytesLimit` or waited
    /// `limits.heldTimeLimit`. Under load, one channel write then carries everything that arrived during a round
    /// trip, where a write per round would cost the primary a `send` for every few entries; alone or lightly loaded,
    /// nothing is in flight and each entry leaves with its event. Counted in `unacked`, so bounded like it.
    private var held: [(sequence: UInt64, entry: LogEntry)] = []
    private var heldBytes = 0
    /// When the first of `held` was appended.
    private var heldSince = Instant.zero
    /// The last entry handed to the runtime to send, and its value when the current event began: what earlier events
    /// shipped has been written (the runtime sends after each round), so an ack short of it means a write in flight.
    private var shippedThrough: UInt64 = 0
    private var shippedBeforeEvent: UInt64 = 0
    /// The checkpoint streaming to the backup while its link syncs; nil otherwise. Dropped with the link, so a backup
    /// lost mid-stream frees the snapshot and what it pinned.
    private var transfer: CheckpointTransfer<Machine.Snapshot>?
    private var lastDigestSequence: UInt64
    /// The sequence of the last entry that changed `machine` (a command or a tick; a barrier changes nothing), so a
    /// reader of figures derived from the machine recomputes them only past it (`NodeCore.machineRevision`).
    public private(set) var machineChangedAt: UInt64
    /// The storage of the next `.release` array, which the runtime hands back emptied once it has routed the replies
    /// (`keepStorage(ofReleased:)`). An ack releases up to a batch of pipelined replies; a new array of that size for
    /// every ack is a large allocation, which makes the allocator consolidate its free small blocks each time.
    private var spareReplies: [Reply] = []
    /// The replies of the reads answered since the last write or the event's start, back to back
    /// (`StateMachine.read`); each read's slice of it joins `withheld` when the run ends (`withholdReadReplies`).
    private var readReplyBytes: [UInt8] = []
    /// The reads whose replies sit in `readReplyBytes`, in order: their tags and where their replies sit. Kept between
    /// events, emptied, so a run of reads allocates no list; at most a batch of commands.
    private var pendingReads: [(tag: UInt64, bytes: Range<Int>)] = []
    /// A run of reads is withheld once its replies fill this many bytes: about a kilobyte, which the allocator serves
    /// from its small blocks (a larger array costs more to allocate than it saves), and some two dozen GET replies.
    static var readReplyBytesPerArray: Int { 960 }
    /// Whether replies of reads answered without entries wait for an entry yet to be appended (`StateMachine.read`):
    /// the event's end appends a barrier if no other entry did.
    private var isBarrierNeeded = false
    /// Until when this primary holds a read lease: no other node can have gone live before then, so a read needs no
    /// round trip to prove this node still leads, only the acks of what it observed. The backup promised in its hello
    /// to ask the arbiter no sooner than `Hello.readLease` after the last frame it received; the lease runs from
    /// when the last acked entry was sent (the runtime sends it after the event that appended it), less
    /// `readLeaseMarginDivisor`'s share for clocks that run at slightly different rates. Nil without a protecting
    /// backup that promised one.
    private var readLeaseEnd: Instant?
    /// Whether the reads of the event being handled are answered under the read lease.
    private var isReadLeased = false
    /// The event's time, which `append` records as each entry's send time (the runtime sends after the event).
    private var eventTime = Instant.zero
    /// The lease kept is the backup's promise less this fraction of it: an eighth, far above any drift between two
    /// monotonic clocks over a lease's few milliseconds.
    static var readLeaseMarginDivisor: Int64 { 8 }
    private var nextTickAt: Instant?
    private var arbiterRetryAt: Instant?
    /// The arbiter's failures while awaiting an epoch, logged rate-limited (`limits.arbiterFailureNoteInterval`).
    private var arbiterFailures: RepeatedNote
    /// Why output and intake wait while `standing` is `.awaitingEpoch`: what `INFO` and `ROLE` report then, so a
    /// client sees why its data commands wait while `PING` is answered.
    private var awaitingReason = ""

    /// A primary that owns `epoch` (the arbiter granted it) over `machine`, whose state includes
    /// every entry through `lastSequence`. It starts solo: no backup protects it yet.
    ///
    /// `persistedThrough` is where this node's durable log ends, nil when it keeps none: then every entry is
    /// appended to it (`.persist`) and replies wait for `.persisted` as well as for the backup's ack.
    public init(
        epoch: UInt64, machine: Machine, lastSequence: UInt64, entropy: any EntropySource, limits: PrimaryLimits,
        persistedThrough: UInt64? = nil
    ) {
        self.persistedThrough = persistedThrough
        self.epoch = epoch
        self.machine = machine
        self.lastSequence = lastSequence
        // Named by its epoch, not at random: the name is recorded (a waiter's in a snapshot), and a simulation's seed must
        // give the same bytes every run.
        self.recorder = .recording(from: entropy, tenure: epoch)
        self.limits = limits
        self.standing = .solo
        self.withheld = BoundedQueue(capacity: limits.withheldRepliesLimit)
        self.unacked = BoundedQueue(capacity: limits.unackedEntriesCapacity)
        self.lastDigestSequence = lastSequence
        self.machineChangedAt = lastSequence
        self.arbiterFailures = RepeatedNote(interval: limits.arbiterFailureNoteInterval)
    }

    /// Number of replies held back for the output rule.
    public var withheldCount: Int { withheld.count }

    /// Takes back the array of a `.release` action once its replies are routed, so that the next release reuses its
    /// storage. Optional: an array not handed back costs the next release an allocation, nothing else.
    public mutating func keepStorage(ofReleased replies: consuming [Reply]) {
        replies.removeAllKeepingStorage()
        if replies.capacity > spareReplies.capacity { spareReplies = replies }
    }

    /// Takes one event that happened at `now` and returns the actions to perform, in array order.
    public mutating func handle(_ event: PrimaryEvent, at now: Instant) -> [PrimaryAction] {
        var actions: [PrimaryAction] = []
        handle(event, at: now, into: &actions)
        return actions
    }

    /// Appends the event's actions to `actions`, so a caller handling many events can reuse one array.
    public mutating func handle(_ event: PrimaryEvent, at now: Instant, into actions: inout [PrimaryAction]) {
        if nextTickAt == nil { nextTickAt = now + limits.tickInterval }
        eventTime = now
        shippedBeforeEvent = shippedThrough
        switch event {
        case .commandsArrived(let commands):
            // The runtime reads `now` after the commands arrived, so a read answered under a lease valid at `now`
            // takes effect at `now`, inside its request's lifetime (linearizable).
            isReadLeased = readLeaseEnd.map { now < $0 } ?? false
            let sequenceBefore = lastSequence
            var hadReads = false
            // By index: iterating would copy each command, retaining and releasing its bytes once more.
            for index in commands.indices where execute(commands[index], into: &actions) { hadReads = true }
            withholdReadReplies()
            if isBarrierNeeded {
                append(.barrier, into: &actions)
            } else if hadReads, lastSequence == sequenceBefore, unacked.isEmpty, let end = readLeaseEnd,
                let link = backup, now + .nanoseconds(Int64(clamping: link.hello.readLeaseNanoseconds / 2)) >= end
            {
                // Reads keep coming and the lease is past its half: a barrier's ack renews it before it runs out,
                // so the reads never wait for one. Nothing waits for this barrier.
                append(.barrier, into: &actions)
            }
        case .backupJoined(let channel, let hello):
            backupJoined(channel, hello, at: now, into: &actions)
        case .framesArrived(let channel, let frames):
            for frame in frames { received(frame, on: channel, at: now, into: &actions) }
        case .channelClosed(let channel, let reason):
            if backup?.channel == channel { lostBackup(.channelClosed(reason), into: &actions) }
        case .arbiterAnswered(let answer):
            arbiterAnswered(answer, at: now, into: &actions)
        case .timerFired:
            timerFired(at: now, into: &actions)
        case .stopRequested:
            isStopRequested = true
        case .persisted(let sequence):
            if let persisted = persistedThrough, sequence > persisted, sequence <= lastSequence {
                persistedThrough = sequence
            }
        }
        shipHeldIfDue(at: now, into: &actions)
        releaseWhatTheOutputRuleAllows(into: &actions)
        stopIfRequested(into: &actions)
        finishHandoverIfReady(into: &actions)
        adjustIntake(into: &actions)
        nextWakeup = Instant.earliest(nextTickAt, arbiterRetryAt)
        checkInvariants()
    }

    /// Fills in the role and positions this core reports (`NodeCore.status` adds the rest).
    /// Mutating only so that `NodeCore` reaches it in place through its optional: a non-mutating call there
    /// would copy the whole core first.
    public mutating func report(into status: inout NodeStatus) {
        status.role = standing == .solo ? .solo : .primary
        status.epoch = epoch
        status.logSequence = lastSequence
        if case .awaitingEpoch = standing { status.reason = awaitingReason }
        status.unackedEntries = unacked.count
        status.unackedBytes = unackedBytes
        backup?.report(into: &status, checkpoint: transfer?.progress)
    }

    // MARK: - Execute and record

    private var isExecuting: Bool {
        switch standing {
        case .solo, .protected, .awaitingEpoch: true
        case .handingOver, .stopped: false
        }
    }

    /// Executes `command`: true when it was a read, answered without an entry.
    private mutating func execute(_ command: ClientCommand, into actions: inout [PrimaryAction]) -> Bool {
        guard isExecuting else { return false }  // intake is paused; the runtime drops what raced with it
        if readReplyBytes.isEmpty { readReplyBytes.reserveCapacity(Self.readReplyBytesPerArray) }
        let start = readReplyBytes.count
        let isRead = machine.read(command.bytes, into: &readReplyBytes, context: &recorder)
        // What a read saw goes nowhere: its reply is not replayed, and a read that declines (it met an expired key)
        // leaves its command to `apply`, whose entry must hold exactly what `apply` reads, as the backup replays it.
        _ = recorder.takeRecorded()
        if isRead {
            pendingReads.append((command.tag, start..<readReplyBytes.count))
            // Released by the ack of the next entry, whichever it is (DESIGN, output rule; `StateMachine.read`); under
            // the read lease, by the acks of the entries it observed (`withholdReadReplies`).
            if !isReadLeased { isBarrierNeeded = true }
            if readReplyBytes.count >= Self.readReplyBytesPerArray { withholdReadReplies() }
            return true
        }
        precondition(readReplyBytes.count == start, "a read that declined wrote a reply")
        // The reads before this write are released by its ack at the earliest: they are withheld before it.
        withholdReadReplies()
        let reply = machine.apply(command.bytes, context: &recorder)
        append(.command(command.bytes, recorded: recorder.takeRecorded()), into: &actions)
        machineChangedAt = lastSequence
        let fitted = withheld.append(Withheld(sequence: lastSequence, reply: Reply(tag: command.tag, bytes: reply)))
        precondition(fitted, "withheld replies past their bound: intake should have paused")
        if lastSequence - lastDigestSequence >= limits.digestIntervalEntries {
            append(.digest(machine.digest()), into: &actions)
            lastDigestSequence = lastSequence
        }
        return false
    }

    /// Withholds the replies of the reads answered since the last write, each a slice of one array, until the ack of
    /// the entry appended next (the sequence they wait for), or under the read lease until the ack of the last entry
    /// appended (what they observed), and starts the next run's array.
    private mutating func withholdReadReplies() {
        guard !pendingReads.isEmpty else { return }
        let releasedBy = isReadLeased ? lastSequence : lastSequence + 1
        var bytes: [UInt8] = []
        // Moved out, so the slices share this array and the next run's appends do not copy it.
        swap(&bytes, &readReplyBytes)
        for read in pendingReads {
            let reply = Reply(tag: read.tag, bytes: bytes[read.bytes])
            let fitted = withheld.append(Withheld(sequence: releasedBy, reply: reply))
            precondition(fitted, "withheld replies past their bound: intake should have paused")
        }
        pendingReads.removeAllKeepingStorage()
    }

    /// Gives `entry` the next sequence and ships it to the backup, if one is linked, or holds it behind the shipment in
    /// flight (`held`). Consumed: it moves into the action rather than being copied, which would retain its command
    /// and its recorded values once more.
    private mutating func append(_ entry: consuming LogEntry, into actions: inout [PrimaryAction]) {
        lastSequence += 1
        isBarrierNeeded = false
        if persistedThrough != nil { actions.append(.persist(epoch: epoch, sequence: lastSequence, copy entry)) }
        guard let channel = backup?.channel else { return }
        let payloadBytes = entry.encodedByteCount
        let fitted = unacked.append((lastSequence, payloadBytes, eventTime))
        precondition(fitted, "unacked entries past their bound: intake should have paused")
        unackedBytes += payloadBytes
        if !held.isEmpty || isAwaitingAck {
            if held.isEmpty { heldSince = eventTime }
            held.append((lastSequence, consume entry))
            heldBytes += payloadBytes
            if heldBytes >= limits.heldBytesLimit { shipHeld(into: &actions) }
            return
        }
        shippedThrough = lastSequence
        actions.append(.log(channel, epoch: epoch, sequence: lastSequence, consume entry))
    }

    /// Whether a shipment of an earlier event to a protecting backup is unacked, so what is appended now waits for its
    /// ack (see `held`). Never while a checkpoint streams: the backup then acks no entry until it is installed.
    private var isAwaitingAck: Bool {
        guard let link = backup, link.phase == .protecting else { return false }
        return link.received < shippedBeforeEvent
    }

    private mutating func shipHeldIfDue(at now: Instant, into actions: inout [PrimaryAction]) {
        guard !held.isEmpty, !isAwaitingAck || now >= heldSince + limits.heldTimeLimit else { return }
        shipHeld(into: &actions)
    }

    private mutating func shipHeld(into actions: inout [PrimaryAction]) {
        guard let channel = backup?.channel else { return }
        shippedThrough = held[held.count - 1].sequence
        for index in held.indices {
            // Taken, not copied: a copy would retain the entry's command and recorded values once more.
            let (sequence, entry) = held.take(at: index, leaving: (0, .barrier))
            actions.append(.log(channel, epoch: epoch, sequence: sequence, entry))
        }
        held.removeAllKeepingStorage()
        heldBytes = 0
    }

    private mutating func timerFired(at now: Instant, into actions: inout [PrimaryAction]) {
        if let due = nextTickAt, now >= due,
            !isExecuting || unacked.count >= limits.unackedEntriesLimit || withheld.count >= limits.unackedEntriesLimit
        {
            // No tick while stopping, or while the unacked log or the withheld replies are at their bound (they would
            // grow past it): the work waits for the next interval rather than the timer firing again at once.
            nextTickAt = now + limits.tickInterval
        } else if let due = nextTickAt, now >= due {
            // Timer-driven work is a log entry, so the backup does it at the same point (DESIGN 1).
            let output = machine.tickWithOutput(context: &recorder)
            append(.tick(recorded: recorder.takeRecorded()), into: &actions)
            machineChangedAt = lastSequence
            if !output.isEmpty {
                // Released with the entry's ack, as a reply is; below the bound, checked above, so it fits.
                let reply = Reply(tag: Reply.tickTag, bytes: output)
                let fitted = withheld.append(Withheld(sequence: lastSequence, reply: reply))
                precondition(fitted, "withheld replies past their bound: the tick should have waited")
            }
            nextTickAt = now + limits.tickInterval
        }
        if let due = arbiterRetryAt, now >= due, case .awaitingEpoch(let wanted) = standing {
            arbiterRetryAt = nil
            actions.append(.takeEpoch(wanted))
        }
    }

    // MARK: - Backup link

    private mutating func backupJoined(
        _ channel: ChannelID, _ hello: Hello, at now: Instant, into actions: inout [PrimaryAction]
    ) {
        guard standing == .solo || standing == .protected else {
            refuse(channel, "the primary is \(standing), not taking a backup", into: &actions)
            return
        }
        if let old = backup, old.phase == .protecting {
            // A hello never displaces a protecting backup whose channel is open: displacing it would cost a trip to
            // the arbiter (and, lost, the primary's life) on the word of whoever connected. The old link is retired
            // only when its channel closes or falls silent (`.channelClosed`); a genuinely restarted backup's old
            // channel does so within the silence timeout, and the newcomer retries after its join interval.
            refusedHellos += 1
            if refusedHellos == 1 || refusedHellos % Self.refusedHellosLogEvery == 0 {
                actions.append(
                    .note("refused a hello from \(hello.nodeName): \(old.hello.nodeName) is protecting on an open "
                        + "channel (\(refusedHellos) refused so far)"))
            }
            refuse(channel, "\(old.hello.nodeName) is protecting this primary on an open channel; retry", into: &actions)
            return
        }
        if let old = backup {
            // A second hello while the old link is still syncing: the old one belongs to a process that is gone
            // (a restart, say) and never protected, so retiring it costs nothing; the newcomer retries shortly.
            actions.append(.close(old.channel))
            lostBackup(.rejoinedOnNewChannel(hello.nodeName), into: &actions)
            refuse(channel, "the previous backup link is being retired; retry", into: &actions)
            return
        }
        backup = BackupLink(
            channel: channel, hello: hello, phase: .syncing(checkpointSequence: lastSequence), received: 0, applied: 0)
        var transfer = CheckpointTransfer(machine.snapshot(), sequence: lastSequence, at: now)
        actions.append(
            .note("sending \(hello.nodeName) a checkpoint at sequence \(lastSequence) (~\(transfer.estimatedBytes) "
                + "bytes, chunks of \(limits.checkpointChunkBytes) bytes, \(limits.checkpointWindowChunks) in flight)"))
        for frame in transfer.nextFrames(epoch: epoch, limits: limits, at: now) {
            actions.append(.send(channel, frame))
        }
        self.transfer = transfer
    }

    /// The backup acked checkpoint chunks through `chunkIndex` as installed: the window moves on, and once the last
    /// is in, the transfer ends (the backup then acks the entries it buffered meanwhile, and protects).
    private mutating func checkpointAcked(
        through chunkIndex: UInt32, on link: BackupLink, at now: Instant, into actions: inout [PrimaryAction]
    ) {
        guard var transfer = self.transfer else { return }  // a repeat of the last ack, after the transfer ended
        guard transfer.acked(through: chunkIndex) else {
            actions.append(.close(link.channel))
            lostBackup(.impossibleCheckpointAck(chunkIndex: chunkIndex, sent: transfer.sentChunks), into: &actions)
            return
        }
        for frame in transfer.nextFrames(epoch: epoch, limits: limits, at: now) {
            actions.append(.send(link.channel, frame))
        }
        if transfer.isInstalled {
            endTransfer(transfer, installedBy: link, at: now, into: &actions)
            return
        }
        if now.since(transfer.lastNoteAt) >= limits.checkpointProgressNoteInterval {
            transfer.lastNoteAt = now
            actions.append(.note("checkpoint to \(link.hello.nodeName): \(transfer.progress.summary)"))
        }
        self.transfer = transfer
    }

    /// The backup has installed the whole checkpoint: the snapshot goes, and the log takes over.
    private mutating func endTransfer(
        _ transfer: CheckpointTransfer<Machine.Snapshot>, installedBy link: BackupLink, at now: Instant,
        into actions: inout [PrimaryAction]
    ) {
        self.transfer = nil
        actions.append(
            .note("\(link.hello.nodeName) installed the checkpoint at sequence \(transfer.sequence): "
                + "\(transfer.progress.summary), total \(now.since(transfer.startedAt))"))
    }

    private func refuse(_ channel: ChannelID, _ reason: String, into actions: inout [PrimaryAction]) {
        actions.append(.send(channel, .refuse(epoch: epoch, reason: reason)))
        actions.append(.close(channel))
    }

    private mutating func received(
        _ frame: Frame, on channel: ChannelID, at now: Instant, into actions: inout [PrimaryAction]
    ) {
        // The link is read and changed where it is stored, through `backup!` once this guard passed: a copy of it,
        // taken on every ack, would retain the backup's name and addresses and release them again.
        guard backup?.channel == channel else { return }
        if case .checkpointAck(let ackEpoch, let sequence, let chunkIndex) = frame, ackEpoch == epoch,
            case .syncing(let checkpointSequence) = backup!.phase, sequence == checkpointSequence
        {
            checkpointAcked(through: chunkIndex, on: backup!, at: now, into: &actions)
            return
        }
        guard case .ack(let ackEpoch, let received, let applied) = frame, ackEpoch == epoch else {
            return  // heartbeats only prove liveness, which the transport tracks; stale epochs are ignored
        }
        guard received <= lastSequence, applied <= received else {
            actions.append(.close(channel))
            lostBackup(.impossibleAck(received: received, applied: applied, lastSequence: lastSequence), into: &actions)
            return
        }
        if let transfer, case .syncing(let checkpointSequence) = backup!.phase, received >= checkpointSequence {
            // A backup acks the log only once its checkpoint is in (while installing it sends checkpoint acks and
            // plain heartbeats), so this ack says the last chunk is installed, even if that chunk's own ack was lost.
            guard transfer.isSent else {
                actions.append(.close(channel))
                lostBackup(.impossibleAck(received: received, applied: applied, lastSequence: lastSequence), into: &actions)
                return
            }
            endTransfer(transfer, installedBy: backup!, at: now, into: &actions)
        }
        backup!.received = max(backup!.received, received)
        backup!.applied = max(backup!.applied, applied)
        var lastAckedSentAt: Instant?
        while let first = unacked.first, first.sequence <= backup!.received {
            unackedBytes -= first.bytes
            lastAckedSentAt = first.sentAt
            _ = unacked.popFirst()
        }
        if backup!.phase == .protecting, let sentAt = lastAckedSentAt, backup!.hello.readLeaseNanoseconds > 0 {
            let promised = Int64(clamping: backup!.hello.readLeaseNanoseconds)
            let end = sentAt + .nanoseconds(promised - promised / Self.readLeaseMarginDivisor)
            readLeaseEnd = max(readLeaseEnd ?? end, end)
        }
        if case .syncing(let checkpointSequence) = backup!.phase, transfer == nil,
            backup!.received >= checkpointSequence
        {
            // Every entry up to here left solo; the marker goes in-stream after them, so a backup
            // that has seen it holds all of them and may go live (DESIGN, re-protection). Only once the backup
            // installed the last chunk.
            backup!.phase = .protecting
            standing = .protected
            actions.append(.send(channel, .protecting(epoch: epoch, sequence: lastSequence)))
            actions.append(.note("\(backup!.hello.nodeName) is protecting from sequence \(lastSequence + 1)"))
        }
    }

    private mutating func lostBackup(_ reason: BackupLossReason, into actions: inout [PrimaryAction]) {
        guard let link = backup else { return }
        backup = nil
        readLeaseEnd = nil  // the lease was this link's; the next backup grants its own
        if let transfer {
            actions.append(
                .note("dropped the checkpoint to \(link.hello.nodeName) at sequence \(transfer.sequence) after "
                    + transfer.progress.summary))
        }
        transfer = nil
        unacked.removeAll()
        unackedBytes = 0
        held.removeAll()
        heldBytes = 0
        if link.phase == .protecting && (standing == .protected || standing == .handingOver) {
            // The backup may be alive behind a partition and about to go live: release nothing
            // until the arbiter says this side owns the next epoch (DESIGN 4). A handover in progress is no
            // exception: the backup cannot tell a stopping primary's silence from a dead one's.
            standing = .awaitingEpoch(epoch + 1)
            awaitingReason = "waiting for the arbiter: lost backup \(link.hello.nodeName) (\(reason)), asking for epoch \(epoch + 1)"
            arbiterFailures.reset()
            actions.append(.takeEpoch(epoch + 1))
            actions.append(.note("lost backup \(link.hello.nodeName) (\(reason)); asking the arbiter for epoch \(epoch + 1)"))
        } else {
            actions.append(.note("backup \(link.hello.nodeName) left while syncing (\(reason)); still solo"))
        }
    }

    private mutating func arbiterAnswered(_ answer: ArbiterAnswer, at now: Instant, into actions: inout [PrimaryAction]) {
        guard case .awaitingEpoch(let wanted) = standing else { return }
        switch answer {
        case .took(.granted(let record)) where record.epoch == wanted:
            epoch = wanted
            standing = .solo
            let failures = arbiterFailures.occurrences
            arbiterFailures.reset()
            actions.append(
                .note("arbiter granted epoch \(wanted)"
                    + (failures > 0 ? " after \(failures) failed attempts" : "") + "; continuing solo"))
        case .took(.lost(let winner)):
            standing = .stopped
            withheld.removeAll()
            actions.append(.stop(.lostEpoch(wanted, winner: winner.claim.nodeName)))
        case .took(.granted), .current:
            // Not an answer to this question (a stale one, say): ask again rather than wait for ever.
            arbiterRetryAt = now + limits.arbiterRetryInterval
            actions.append(.note("unexpected arbiter answer \(answer) while waiting for epoch \(wanted); asking again"))
        case .failed(let error):
            arbiterRetryAt = now + limits.arbiterRetryInterval
            awaitingReason = "waiting for the arbiter: arbiter unavailable (\(error)), asking for epoch \(wanted)"
            if let heldBack = arbiterFailures.occurred(at: now) {
                actions.append(
                    .note("arbiter unavailable (\(error)); withholding output, retrying every "
                        + "\(limits.arbiterRetryInterval)" + RepeatedNote.suffix(heldBack: heldBack)))
            }
        }
    }

    // MARK: - Output rule, handover, backpressure

    /// The highest sequence whose reply may leave now.
    private var releasableThrough: UInt64 {
        let acked: UInt64 =
            switch standing {
            case .solo: lastSequence
            case .protected, .handingOver: backup?.received ?? 0
            case .awaitingEpoch, .stopped: 0
            }
        return min(acked, persistedThrough ?? acked)
    }

    private mutating func releaseWhatTheOutputRuleAllows(into actions: inout [PrimaryAction]) {
        let through = releasableThrough
        guard let first = withheld.first, first.sequence <= through else { return }
        var replies: [Reply] = []
        swap(&replies, &spareReplies)
        // At most one allocation rather than one per doubling: an ack often releases a few hundred pipelined replies.
        replies.reserveCapacity(withheld.count)
        // Moved out of the queue, not copied: a copy would retain and release every reply once more.
        while let sequence = withheld.first?.sequence, sequence <= through, let released = withheld.popFirst() {
            replies.append(released.reply)
        }
        actions.append(.release(replies))
    }

    /// A stop request holds until it can be honoured: at once when solo, by handover when protected,
    /// and after the arbiter answers when the primary is waiting for it.
    private mutating func stopIfRequested(into actions: inout [PrimaryAction]) {
        guard isStopRequested else { return }
        switch standing {
        case .protected:
            standing = .handingOver
            actions.append(.note("stop requested: handing over once the backup has applied every entry"))
        case .solo:
            releaseWhatTheOutputRuleAllows(into: &actions)
            standing = .stopped
            actions.append(.stop(.stopRequestedWithoutBackup))
        case .awaitingEpoch, .handingOver, .stopped:
            break
        }
    }

    private mutating func finishHandoverIfReady(into actions: inout [PrimaryAction]) {
        guard standing == .handingOver, let link = backup, withheld.isEmpty,
            link.received == lastSequence, link.applied == lastSequence
        else { return }
        actions.append(.send(link.channel, .handover(epoch: epoch, sequence: lastSequence)))
        standing = .stopped
        actions.append(.handedOver(to: link.hello.nodeName, through: lastSequence))
    }

    private mutating func adjustIntake(into actions: inout [PrimaryAction]) {
        var shouldPause = false
        switch standing {
        case .awaitingEpoch, .handingOver, .stopped:
            shouldPause = true
        case .solo, .protected:
            // Reads hold replies without entries, so the withheld replies have a bound of their own.
            shouldPause = withheld.count >= limits.unackedEntriesLimit
            if let persisted = persistedThrough {
                // A slow disk slows intake as a slow backup does: the entries not yet durable have the same bound.
                shouldPause = shouldPause || lastSequence - persisted >= UInt64(limits.unackedEntriesLimit)
            }
            if let link = backup {
                // Counted in the queue, not from `link.received`: while a checkpoint streams the backup acks no entry,
                // yet only those after the checkpoint's sequence are in flight.
                shouldPause = shouldPause
                    || unacked.count >= limits.unackedEntriesLimit || unackedBytes >= limits.unackedBytesLimit
                    || link.received - link.applied > limits.replayLagLimit
            }
        }
        if shouldPause != isIntakePaused {
            isIntakePaused = shouldPause
            actions.append(shouldPause ? .pauseIntake : .resumeIntake)
        }
    }

    private func checkInvariants() {
        precondition(pendingReads.isEmpty, "a read's reply was left out of the withheld queue")
        if let first = withheld.first {
            precondition(first.sequence > releasableThrough, "a releasable reply was left withheld")
        }
        if standing == .protected {
            precondition(backup?.phase == .protecting, "protected without a protecting backup")
        }
        precondition(unackedBytes >= 0, "unacked bytes went negative")
        if !held.isEmpty {
            precondition(backup?.phase == .protecting, "entries held for a backup that does not protect")
            precondition(held[0].sequence == shippedThrough + 1, "held entries that do not follow the shipped ones")
        }
        if let transfer {
            precondition(backup?.phase == .syncing(checkpointSequence: transfer.sequence), "a checkpoint without its link")
            precondition(
                Int(transfer.sentChunks - transfer.installedChunks) <= limits.checkpointWindowChunks,
                "more checkpoint chunks unacked than the window")
        }
    }
}
