import Arbiter
import Backup
import LogChannel
import Primary
import Replication

/// One node, moving between roles: starting, joining, backup, primary (solo or protected), stopped.
///
/// A plain value without I/O (STYLE 1): it composes `PrimaryCore` and `BackupCore` and owns the
/// transitions between them, so the runtime and the simulator drive exactly the same logic.
public struct NodeCore<Machine: StateMachine> {
    enum Role {
        /// Asked the arbiter who is live (or, for an empty arbiter, tried to take epoch 1).
        case starting
        /// Without replicated state; `retryAt` is when to look for a primary again, nil while dialing.
        case joining(retryAt: Instant?, isDialing: Bool)
        /// Following the primary on `channel`; the core is `backupCore`, the primary `followedPrimary`.
        case backup(channel: ChannelID)
        /// The core is `primaryCore`.
        case primary
        case stopped
    }

    /// Who this node is and the bounds it keeps; fixed for its life.
    public let configuration: NodeConfiguration
    let emptyMachine: Machine
    var entropy: any EntropySource
    var role: Role = .starting
    // The cores live beside `role`, not in its payload, so an event mutates them in place: taking a core out of
    // the enum and putting it back would retain and release every reference it holds, on every event
    // (Benchmarks/README.md). Set exactly while `role` says so.
    var primaryCore: PrimaryCore<Machine>?
    var backupCore: BackupCore<Machine>?
    /// The primary a backup follows, as the arbiter named it, once its checkpoint started arriving; nil before.
    /// Beside `role` for the same reason as the cores: the status reads it after every event.
    var followedPrimary: Hello?
    /// The running core's own next wakeup, noted whenever it starts or handles an event (reading it back through
    /// the optional would copy the core).
    var coreWakeup: Instant?
    /// The running core's actions for the event at hand, translated into `NodeAction`s; kept between events so
    /// that handling one allocates no array.
    var primaryActions: [PrimaryAction] = []
    var backupActions: [BackupAction] = []
    var unidentified: [ChannelID] = []
    var isStopRequested = false
    /// Failed attempts to join, logged rate-limited (`configuration.joinFailureNoteInterval`); reset on joining.
    var joinFailures: RepeatedNote
    var lastReason = "starting"
    /// Whether the primary core paused client intake; a node that stops serving resumes it (clients then get
    /// refusals instead of waiting on a paused socket).
    var isIntakePaused = false
    /// The peer's client address while this node had a role, and the node that serves after this one stopped:
    /// the backup it handed over to, or the primary it followed. A stopped node points its clients there.
    var lastPeerClientAddress = ""
    var successorClientAddress = ""
    var knownPrimary: EpochRecord?
    /// The epoch this node last served or followed in, still reported once it stopped.
    var lastEpoch: UInt64 = 0
    /// What this node found in its data directory at start, until it goes live from it or a live primary's
    /// checkpoint replaces it (`NodeCore+Recovery`).
    var recovered: RecoveredState<Machine>?
    /// The epoch asked for to go live from `recovered`; nil when not asking.
    var recoveryEpoch: UInt64?
    /// The arbiter's record as last read: what the recovery rule is judged against.
    var arbiterRecord: EpochRecord?
    /// Why the durable log cannot be written now; nil when it can.
    var persistenceFailure: String?
    /// Deliver `.timerFired` no later than this.
    public private(set) var nextWakeup: Instant?
    /// What this node reports, as of the end of the last event. Stored, not computed on each read: the runtime
    /// reads it every round, and a getter reaching into `primaryCore` would copy the whole core.
    public private(set) var status: NodeStatus

    /// A node without a role yet; deliver `.started` to begin.
    ///
    /// `emptyMachine` is the state a new cluster serves from and a joining backup restores a checkpoint over;
    /// `entropy` supplies the random values a primary records. `recovered` is what the node's data directory held
    /// at start (with `configuration.isDurable`), nil when it held nothing.
    public init(
        configuration: NodeConfiguration, emptyMachine: Machine, entropy: any EntropySource,
        recovered: RecoveredState<Machine>? = nil
    ) {
        self.configuration = configuration
        self.recovered = recovered
        self.emptyMachine = emptyMachine
        self.entropy = entropy
        joinFailures = RepeatedNote(interval: configuration.joinFailureNoteInterval)
        status = NodeStatus(
            role: .joining, nodeName: configuration.nodeName, clientAddress: configuration.clientAddress)
        refreshStatus()
    }

    /// Takes back the array of a `.release` action once its replies are routed, for the next release to reuse
    /// (`PrimaryCore.keepStorage(ofReleased:)`); dropped unless this node is the primary.
    public mutating func keepStorage(ofReleased replies: consuming [Reply]) {
        primaryCore?.keepStorage(ofReleased: replies)
    }

    /// Takes one event that happened at `now` and returns the actions to perform, in array order.
    public mutating func handle(_ event: consuming NodeEvent, at now: Instant) -> [NodeAction] {
        var actions: [NodeAction] = []
        handle(event, at: now, into: &actions)
        return actions
    }

    /// Appends the event's actions to `actions`, so a driver handling many events can reuse one array.
    /// Consumed: the frames an event brings reach the backup's core with no other owner (`BackupCore.handle`).
    public mutating func handle(_ event: consuming NodeEvent, at now: Instant, into actions: inout [NodeAction]) {
        switch consume event {
        case .started:
            actions.append(.readArbiter)
        case .arbiterAnswered(let answer):
            arbiterAnswered(answer, at: now, into: &actions)
        case .channelOpened(let channel, let isDialed):
            channelOpened(channel, isDialed: isDialed, at: now, into: &actions)
        case .dialFailed(let reason):
            guard case .joining = role else { break }
            if let record = arbiterRecord, let proof = recoveryProof(under: record) {
                recover(under: record, proof: proof, into: &actions)
            } else {
                retryJoin(after: "cannot reach a primary: \(reason)", at: now, into: &actions)
            }
        case .framesArrived(let channel, let frames):
            framesArrived(frames, on: channel, at: now, into: &actions)
        case .channelClosed(let channel, let reason):
            channelClosed(channel, reason: reason, at: now, into: &actions)
        case .commandsArrived(let commands):
            if target == .primary, let persistenceFailure {
                actions.append(.reject(commands.map(\.tag), .persistenceFailed(persistenceFailure)))
            } else if target == .primary {
                forwardToPrimary(.commandsArrived(commands), at: now, into: &actions)
            } else {
                actions.append(.reject(commands.map(\.tag), .notPrimary))
            }
        case .persisted(let sequence):
            switch target {
            case .primary: forwardToPrimary(.persisted(through: sequence), at: now, into: &actions)
            case .backup: forwardToBackup(.persisted(through: sequence), at: now, into: &actions)
            case .neither: break
            }
        case .persistenceChanged(let failure):
            if failure != persistenceFailure {
                actions.append(.note(failure.map { "the durable log cannot be written: \($0); refusing data commands" }
                    ?? "the durable log is written again; taking data commands"))
            }
            persistenceFailure = failure
        case .timerFired:
            timerFired(at: now, into: &actions)
        case .stopRequested:
            stopRequested(at: now, into: &actions)
        }
        nextWakeup = wakeup
        refreshStatus()
    }

    // MARK: - Status

    /// Brings `status` up to date, in place: every field is set as if the status were new (the name and client
    /// address never change), because building a new one per event costs more than the event's own bookkeeping.
    mutating func refreshStatus() {
        status.role = .joining
        status.epoch = 0
        status.logSequence = 0
        status.ackedSequence = 0
        status.appliedSequence = 0
        status.replayLag = 0
        status.unackedEntries = 0
        status.unackedBytes = 0
        status.peerState = .none
        status.peerClientAddress = ""
        status.checkpoint = nil
        // Compared before assigned: a string assigned again, even the same one, is retained and released.
        if status.reason != lastReason { status.reason = lastReason }
        let failure = persistenceFailure ?? ""
        if status.persistenceFailure != failure { status.persistenceFailure = failure }
        status.persistedSequence =
            configuration.isDurable
            ? primaryCore?.persistedThrough ?? backupCore?.persistedThrough ?? recovered?.sequence ?? 0 : nil
        switch role {
        case .starting:
            status.peerState = .connect
        case .joining(_, let isDialing):
            status.peerState = isDialing ? .connecting : .connect
            status.peerClientAddress = knownPrimary?.claim.clientAddress ?? ""
            status.epoch = knownPrimary?.epoch ?? lastEpoch
        case .backup:
            backupCore?.report(into: &status)
            status.peerClientAddress = followedPrimary?.clientAddress ?? knownPrimary?.claim.clientAddress ?? ""
        case .primary:
            primaryCore?.report(into: &status)
        case .stopped:
            status.role = .stopped
            status.epoch = lastEpoch
            status.peerClientAddress = successorClientAddress
        }
        if !status.peerClientAddress.isEmpty, status.role != .stopped { lastPeerClientAddress = status.peerClientAddress }
    }

    /// What an idle logging channel carries, so the peer knows this node is alive and how far it is.
    ///
    /// A backup repeats its latest ack as its core words it (`BackupCore.heartbeat`), so an idle backup keeps
    /// confirming what it holds; anyone else says how far its log goes.
    public var heartbeat: Frame {
        if case .backup = role, backupCore != nil, let heartbeat = backupCore?.heartbeat { return heartbeat }
        if status.role == .backup {
            return .ack(epoch: status.epoch, received: status.logSequence, applied: status.appliedSequence)
        }
        return .heartbeat(epoch: status.epoch, sequence: status.logSequence)
    }

    /// The state machine this node holds, if any (for digests and tests).
    public var machine: Machine? {
        // Optional chaining reads the one field in place; `if let backupCore` would copy the whole backup core.
        if backupCore != nil { return backupCore?.phase == .awaitingCheckpoint ? nil : backupCore?.machine }
        return primaryCore?.machine
    }

    /// Changes whenever `machine` may have changed while this core keeps its role, nil when there is no machine: what
    /// is derived from the machine (its statistics, read every round) is recomputed only when this moves. Not a
    /// sequence to compare across roles: a new core starts its own.
    public var machineRevision: UInt64? {
        if backupCore != nil { return backupCore?.phase == .awaitingCheckpoint ? nil : backupCore?.applied }
        return primaryCore?.machineChangedAt
    }

    /// The highest sequence reflected in `machine`.
    public var appliedSequence: UInt64 {
        backupCore?.applied ?? primaryCore?.lastSequence ?? 0
    }

    var wakeup: Instant? {
        switch role {
        case .joining(let retryAt, _): retryAt
        case .backup, .primary: coreWakeup
        case .starting, .stopped: nil
        }
    }

    /// Which core an event goes to.
    enum Target: Equatable { case primary, backup(ChannelID), neither }

    var target: Target {
        switch role {
        case .primary: .primary
        case .backup(let channel): .backup(channel)
        case .starting, .joining, .stopped: .neither
        }
    }

    // MARK: - Arbiter

    mutating func arbiterAnswered(_ answer: ArbiterAnswer, at now: Instant, into actions: inout [NodeAction]) {
        switch target {
        case .primary: return forwardToPrimary(.arbiterAnswered(answer), at: now, into: &actions)
        case .backup: return forwardToBackup(.arbiterAnswered(answer), at: now, into: &actions)
        case .neither: break
        }
        switch role {
        case .primary, .backup:
            break
        case .starting:
            switch answer {
            case .current(nil):
                if let recovered {
                    // Serving it as a new cluster would restart the epochs under it; an operator decides.
                    role = .joining(retryAt: now + configuration.joinRetryInterval, isDialing: false)
                    noteJoinFailure(
                        "the arbiter holds no epoch, but this node's disk holds state through sequence "
                            + "\(recovered.sequence) of epoch \(recovered.epoch): not serving it as a new cluster "
                            + "(`lockstep recover --accept-data-loss` serves it)", at: now, into: &actions)
                    return
                }
                // An unused arbiter: a new cluster. Both nodes race for epoch 1; the winner serves
                // from empty state, the other joins it (DESIGN 4).
                actions.append(.takeEpoch(1))
            case .current(let record?):
                startOrJoin(under: record, at: now, into: &actions)
            case .took(.granted(let record)):
                if let wanted = recoveryEpoch, record.epoch == wanted, let state = recovered.take() {
                    recoveryEpoch = nil
                    becomePrimary(
                        epoch: record.epoch, machine: state.machine, lastSequence: state.sequence,
                        reason: .recovered(
                            epoch: record.epoch, through: state.sequence,
                            proof: arbiterRecord.flatMap { recoveryProofText(state, under: $0) } ?? "its markers"),
                        persistedThrough: state.sequence, at: now, into: &actions)
                    return
                }
                becomePrimary(
                    epoch: record.epoch, machine: emptyMachine, lastSequence: 0,
                    reason: .newCluster(epoch: record.epoch), persistedThrough: configuration.isDurable ? 0 : nil,
                    at: now, into: &actions)
            case .took(.lost(let winner)):
                recoveryEpoch = nil
                knownPrimary = winner
                transition(to: .joining(retryAt: nil, isDialing: false), .joining,
                    reason: .epochTaken(winner.epoch, winner: winner.claim.nodeName), into: &actions)
                dialPrimary(at: now, into: &actions)
            case .failed(let error):
                recoveryEpoch = nil
                role = .joining(retryAt: now + configuration.joinRetryInterval, isDialing: false)
                noteJoinFailure("arbiter unavailable, nobody goes live: \(error)", at: now, into: &actions)
            }
        case .joining:
            switch answer {
            case .current(let record?):
                startOrJoin(under: record, at: now, into: &actions)
            case .current(nil):
                knownPrimary = nil
                dialPrimary(at: now, into: &actions)
            case .took, .failed(_):
                if case .failed(let error) = answer {
                    noteJoinFailure("arbiter unavailable: \(error)", at: now, into: &actions)
                }
                role = .joining(retryAt: now + configuration.joinRetryInterval, isDialing: false)
            }
        case .stopped:
            break
        }
    }

    // MARK: - Joining

    /// The arbiter names `record`'s owner: a restarted owner whose disk proves it holds every released reply goes
    /// live from it; anyone else dials the primary.
    mutating func startOrJoin(under record: EpochRecord, at now: Instant, into actions: inout [NodeAction]) {
        knownPrimary = record
        arbiterRecord = record
        if record.claim.nodeName == configuration.nodeName, let proof = recoveryProof(under: record) {
            return recover(under: record, proof: proof, into: &actions)
        }
        role = .joining(retryAt: nil, isDialing: false)
        dialPrimary(at: now, into: &actions)
    }

    mutating func dialPrimary(at now: Instant, into actions: inout [NodeAction]) {
        // A record naming ourselves is from before a restart; the peer is taking over from it.
        let address =
            knownPrimary.flatMap { $0.claim.nodeName == configuration.nodeName ? nil : $0.claim.channelAddress }
            ?? configuration.peerChannelAddress
        guard let address else {
            retryJoin(after: "no primary address known yet", at: now, into: &actions)
            return
        }
        role = .joining(retryAt: nil, isDialing: true)
        actions.append(.dial(address: address))
    }

    mutating func retryJoin(after reason: String, at now: Instant, into actions: inout [NodeAction]) {
        role = .joining(retryAt: now + configuration.joinRetryInterval, isDialing: false)
        noteJoinFailure(reason, at: now, into: &actions)
    }

    mutating func noteJoinFailure(_ reason: String, at now: Instant, into actions: inout [NodeAction]) {
        let disk = recovered != nil ? arbiterRecord.map { "; " + recoveryRefusal(under: $0) } ?? "" : ""
        lastReason = "waiting for a primary: \(reason)\(disk)"
        // Said at once, then now and again: a node may wait a long time without state to serve.
        if let heldBack = joinFailures.occurred(at: now) {
            actions.append(
                .note("\(lastReason) (attempt \(joinFailures.occurrences)); not going live without the state"
                    + RepeatedNote.suffix(heldBack: heldBack)))
        }
    }

    mutating func channelOpened(
        _ channel: ChannelID, isDialed: Bool, at now: Instant, into actions: inout [NodeAction]
    ) {
        if isDialed {
            guard case .joining(_, true) = role else {
                actions.append(.close(channel))
                return
            }
            let epoch = knownPrimary?.epoch ?? 0
            actions.append(
                .send(
                    channel,
                    .hello(
                        Hello(
                            epoch: epoch, nodeName: configuration.nodeName,
                            channelAddress: configuration.channelAddress, clientAddress: configuration.clientAddress,
                            readLease: configuration.backupLimits.readLease))))
            backupCore = BackupCore(
                epoch: epoch, machine: emptyMachine, limits: configuration.backupLimits, at: now,
                isDurable: configuration.isDurable)
            followedPrimary = nil
            transition(to: .backup(channel: channel), .backup,
                reason: .joined(primary: knownPrimary?.claim.nodeName ?? "the peer"), into: &actions)
            joinFailures.reset()
        } else if unidentified.count < configuration.unidentifiedChannelsLimit {
            unidentified.append(channel)
        } else {
            actions.append(.close(channel))
        }
    }

    // MARK: - Frames and channels

    mutating func framesArrived(
        _ frames: consuming [Frame], on channel: ChannelID, at now: Instant, into actions: inout [NodeAction]
    ) {
        if let index = unidentified.firstIndex(of: channel) {
            unidentified.remove(at: index)
            guard case .hello(let hello) = frames.first else {
                actions.append(.close(channel))
                return
            }
            guard case .primary = role else {
                actions.append(.send(channel, .refuse(epoch: 0, reason: "\(configuration.nodeName) is not the primary")))
                actions.append(.close(channel))
                return
            }
            forwardToPrimary(.backupJoined(channel, hello), at: now, into: &actions)
            let rest = Array(frames.dropFirst())
            if !rest.isEmpty { forwardToPrimary(.framesArrived(channel, rest), at: now, into: &actions) }
            return
        }
        switch target {
        case .primary: forwardToPrimary(.framesArrived(channel, frames), at: now, into: &actions)
        case .backup(channel): forwardToBackup(.framesArrived(consume frames), at: now, into: &actions)
        case .backup, .neither: actions.append(.close(channel))
        }
    }

    mutating func channelClosed(
        _ channel: ChannelID, reason: ChannelCloseReason, at now: Instant, into actions: inout [NodeAction]
    ) {
        if let index = unidentified.firstIndex(of: channel) {
            unidentified.remove(at: index)
            return
        }
        switch target {
        case .primary: forwardToPrimary(.channelClosed(channel, reason), at: now, into: &actions)
        case .backup(channel): forwardToBackup(.channelClosed(reason), at: now, into: &actions)
        case .backup, .neither: break
        }
    }

    mutating func timerFired(at now: Instant, into actions: inout [NodeAction]) {
        switch target {
        case .primary: return forwardToPrimary(.timerFired, at: now, into: &actions)
        case .backup: return forwardToBackup(.timerFired, at: now, into: &actions)
        case .neither: break
        }
        if case .joining(let retryAt?, _) = role, now >= retryAt {
            role = .joining(retryAt: nil, isDialing: false)
            actions.append(.readArbiter)
        }
    }

    mutating func stopRequested(at now: Instant, into actions: inout [NodeAction]) {
        isStopRequested = true
        if target == .primary { return forwardToPrimary(.stopRequested, at: now, into: &actions) }
        switch role {
        case .primary:
            break
        case .backup(let channel):
            actions.append(.close(channel))
            transition(to: .stopped, .stopped, reason: .stopRequested, into: &actions)
            actions.append(.exit(.stopRequested))
        case .starting, .joining, .stopped:
            transition(to: .stopped, .stopped, reason: .stopRequested, into: &actions)
            actions.append(.exit(.stopRequested))
        }
    }
}
