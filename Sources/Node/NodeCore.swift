import Arbiter
import Backup
import LogChannel
import Primary
import Replication

/// Facts a node learns from its driver (the runtime, or the simulator).
public enum NodeEvent: Equatable, Sendable {
    case started
    case arbiterAnswered(ArbiterAnswer)
    /// A logging-channel connection is up: one this node dialed, or one it accepted.
    case channelOpened(ChannelID, isDialed: Bool)
    case dialFailed(ChannelCloseReason)
    case framesArrived(ChannelID, [Frame])
    case channelClosed(ChannelID, ChannelCloseReason)
    case commandsArrived([ClientCommand])
    case timerFired
    case stopRequested
}

/// Orders a node gives its driver, performed in array order.
public enum NodeAction: Equatable, Sendable {
    /// Read the arbiter's current epoch; the answer returns as `.arbiterAnswered(.current)`.
    case readArbiter
    /// Try to take `epoch` with this node's claim; the answer returns as `.arbiterAnswered(.took)`.
    case takeEpoch(UInt64)
    /// Open a logging channel to `address`; reported as `.channelOpened(_, isDialed: true)` or `.dialFailed`.
    case dial(address: String)
    case send(ChannelID, Frame)
    /// Ship a log entry as an `.entry` frame, encoding it straight into the channel's send buffer.
    case log(ChannelID, epoch: UInt64, sequence: UInt64, LogEntry)
    case close(ChannelID)
    /// These replies may leave: the output rule holds for each.
    case release([Reply])
    /// These commands were not executed; tell their clients so (they may retry elsewhere).
    case reject([UInt64], RefusalReason)
    /// Every reply still withheld will never be released by this node: drop those clients' requests.
    case discardWithheld(StopReason)
    case pauseIntake, resumeIntake
    /// One line per role transition, with its reason.
    case roleChanged(from: NodeStatus.Role, to: NodeStatus.Role, reason: RoleChangeReason)
    case note(String)
    /// Leave the process: a requested stop is complete.
    case exit(ExitReason)
}

/// Who a node is and how it behaves; the same on both machines but for the addresses.
public struct NodeConfiguration: Sendable {
    public var nodeName: String
    /// The logging-channel address the peer should dial (`--advertise`).
    public var channelAddress: String
    public var clientAddress: String
    /// The other node's channel address (`--peer`), dialed when the arbiter names no one else.
    public var peerChannelAddress: String?
    public var primaryLimits = PrimaryLimits()
    public var backupLimits = BackupLimits()
    /// How long a joining node waits before looking for a primary again.
    public var joinRetryInterval: Duration = .milliseconds(100)
    /// Accepted channels that have not said hello yet; more are closed at once.
    public var unidentifiedChannelsLimit = 4

    public init(nodeName: String, channelAddress: String, clientAddress: String, peerChannelAddress: String?) {
        self.nodeName = nodeName
        self.channelAddress = channelAddress
        self.clientAddress = clientAddress
        self.peerChannelAddress = peerChannelAddress
    }

    public var claim: Claim { Claim(nodeName: nodeName, channelAddress: channelAddress, clientAddress: clientAddress) }
}

/// One node, moving between roles: starting, joining, backup, primary (solo or protected), stopped.
///
/// A plain value without I/O (STYLE 1): it composes `PrimaryCore` and `BackupCore` and owns the
/// transitions between them, so the runtime and the simulator drive exactly the same logic.
public struct NodeCore<Machine: StateMachine> {
    private enum Role {
        /// Asked the arbiter who is live (or, for an empty arbiter, tried to take epoch 1).
        case starting
        /// Without replicated state; `retryAt` is when to look for a primary again, nil while dialing.
        case joining(retryAt: Instant?, isDialing: Bool)
        /// Following the primary on `channel`; the core is `backupCore`.
        case backup(channel: ChannelID, primary: Hello?)
        /// The core is `primaryCore`.
        case primary
        case stopped
    }

    public let configuration: NodeConfiguration
    private let emptyMachine: Machine
    private var entropy: any EntropySource
    private var role: Role = .starting
    // The cores live beside `role`, not in its payload, so an event mutates them in place: taking a core out of
    // the enum and putting it back retained and released every reference it holds, on every event (a sixth of
    // the primary's instructions per request; Benchmarks/README.md). Set exactly while `role` says so.
    private var primaryCore: PrimaryCore<Machine>?
    private var backupCore: BackupCore<Machine>?
    /// The running core's own next wakeup, noted whenever it starts or handles an event (reading it back through
    /// the optional would copy the core).
    private var coreWakeup: Instant?
    /// The running core's actions for the event at hand, translated into `NodeAction`s; kept between events so
    /// that handling one allocates no array.
    private var primaryActions: [PrimaryAction] = []
    private var backupActions: [BackupAction] = []
    private var unidentified: [ChannelID] = []
    private var isStopRequested = false
    private var joinFailures = 0
    private var lastReason = "starting"
    /// Whether the primary core paused client intake; a node that stops serving resumes it (clients then get
    /// refusals instead of waiting on a paused socket).
    private var isIntakePaused = false
    /// The peer's client address while this node had a role, and the node that serves after this one stopped:
    /// the backup it handed over to, or the primary it followed. A stopped node points its clients there.
    private var lastPeerClientAddress = ""
    private var successorClientAddress = ""
    private var knownPrimary: EpochRecord?
    /// The epoch this node last served or followed in, still reported once it stopped.
    private var lastEpoch: UInt64 = 0
    /// Deliver `.timerFired` no later than this.
    public private(set) var nextWakeup: Instant?
    /// What this node reports, as of the end of the last event. Stored, not computed on each read: the runtime
    /// reads it every round, and a getter reaching into `primaryCore` copied the whole core (Benchmarks/README.md).
    public private(set) var status: NodeStatus

    public init(configuration: NodeConfiguration, emptyMachine: Machine, entropy: any EntropySource) {
        self.configuration = configuration
        self.emptyMachine = emptyMachine
        self.entropy = entropy
        status = NodeStatus(
            role: .joining, nodeName: configuration.nodeName, clientAddress: configuration.clientAddress)
        refreshStatus()
    }

    public mutating func handle(_ event: NodeEvent, at now: Instant) -> [NodeAction] {
        var actions: [NodeAction] = []
        handle(event, at: now, into: &actions)
        return actions
    }

    /// Appends the event's actions to `actions`, so a driver handling many events can reuse one array.
    public mutating func handle(_ event: NodeEvent, at now: Instant, into actions: inout [NodeAction]) {
        switch event {
        case .started:
            actions.append(.readArbiter)
        case .arbiterAnswered(let answer):
            arbiterAnswered(answer, at: now, into: &actions)
        case .channelOpened(let channel, let isDialed):
            channelOpened(channel, isDialed: isDialed, at: now, into: &actions)
        case .dialFailed(let reason):
            if case .joining = role { retryJoin(after: "cannot reach a primary: \(reason)", at: now, into: &actions) }
        case .framesArrived(let channel, let frames):
            framesArrived(frames, on: channel, at: now, into: &actions)
        case .channelClosed(let channel, let reason):
            channelClosed(channel, reason: reason, at: now, into: &actions)
        case .commandsArrived(let commands):
            if target == .primary {
                forwardToPrimary(.commandsArrived(commands), at: now, into: &actions)
            } else {
                actions.append(.reject(commands.map(\.tag), .notPrimary))
            }
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
    /// address never change), but building a new one per event cost more than the event's own bookkeeping.
    private mutating func refreshStatus() {
        status.role = .joining
        status.epoch = 0
        status.logSequence = 0
        status.ackedSequence = 0
        status.appliedSequence = 0
        status.replayLag = 0
        status.peerState = .none
        status.peerClientAddress = ""
        status.reason = lastReason
        switch role {
        case .starting:
            status.peerState = .connect
        case .joining(_, let isDialing):
            status.peerState = isDialing ? .connecting : .connect
            status.peerClientAddress = knownPrimary?.claim.clientAddress ?? ""
            status.epoch = knownPrimary?.epoch ?? lastEpoch
        case .backup(_, let primary):
            backupCore?.report(into: &status)
            status.peerClientAddress = primary?.clientAddress ?? knownPrimary?.claim.clientAddress ?? ""
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
    /// A backup repeats its latest cumulative ack, so an idle backup keeps confirming what it holds (the primary
    /// ignores heartbeats for acks); anyone else says how far its log goes.
    public var heartbeat: Frame {
        if status.role == .backup {
            return .ack(epoch: status.epoch, received: status.logSequence, applied: status.appliedSequence)
        }
        return .heartbeat(epoch: status.epoch, sequence: status.logSequence)
    }

    /// The state machine this node holds, if any (for digests and tests).
    public var machine: Machine? {
        if let backupCore { return backupCore.phase == .awaitingCheckpoint ? nil : backupCore.machine }
        return primaryCore?.machine
    }

    /// The highest sequence reflected in `machine`.
    public var appliedSequence: UInt64 {
        backupCore?.applied ?? primaryCore?.lastSequence ?? 0
    }

    private var wakeup: Instant? {
        switch role {
        case .joining(let retryAt, _): retryAt
        case .backup, .primary: coreWakeup
        case .starting, .stopped: nil
        }
    }

    /// Which core an event goes to.
    private enum Target: Equatable { case primary, backup(ChannelID), neither }

    private var target: Target {
        switch role {
        case .primary: .primary
        case .backup(let channel, _): .backup(channel)
        case .starting, .joining, .stopped: .neither
        }
    }

    // MARK: - Arbiter

    private mutating func arbiterAnswered(_ answer: ArbiterAnswer, at now: Instant, into actions: inout [NodeAction]) {
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
                // An unused arbiter: a new cluster. Both nodes race for epoch 1; the winner serves
                // from empty state, the other joins it (DESIGN 4).
                actions.append(.takeEpoch(1))
            case .current(let record?):
                knownPrimary = record
                role = .joining(retryAt: nil, isDialing: false)
                dialPrimary(at: now, into: &actions)
            case .took(.granted(let record)):
                becomePrimary(
                    epoch: record.epoch, machine: emptyMachine, lastSequence: 0,
                    reason: .newCluster(epoch: record.epoch), at: now, into: &actions)
            case .took(.lost(let winner)):
                knownPrimary = winner
                transition(to: .joining(retryAt: nil, isDialing: false), .joining,
                    reason: .epochTaken(winner.epoch, winner: winner.claim.nodeName), into: &actions)
                dialPrimary(at: now, into: &actions)
            case .failed(let error):
                role = .joining(retryAt: now + configuration.joinRetryInterval, isDialing: false)
                noteJoinFailure("arbiter unavailable, nobody goes live: \(error)", into: &actions)
            }
        case .joining:
            switch answer {
            case .current(let record):
                knownPrimary = record
                dialPrimary(at: now, into: &actions)
            case .took, .failed(_):
                if case .failed(let error) = answer {
                    noteJoinFailure("arbiter unavailable: \(error)", into: &actions)
                }
                role = .joining(retryAt: now + configuration.joinRetryInterval, isDialing: false)
            }
        case .stopped:
            break
        }
    }

    // MARK: - Joining

    private mutating func dialPrimary(at now: Instant, into actions: inout [NodeAction]) {
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

    private mutating func retryJoin(after reason: String, at now: Instant, into actions: inout [NodeAction]) {
        role = .joining(retryAt: now + configuration.joinRetryInterval, isDialing: false)
        noteJoinFailure(reason, into: &actions)
    }

    private mutating func noteJoinFailure(_ reason: String, into actions: inout [NodeAction]) {
        joinFailures += 1
        lastReason = "waiting for a primary: \(reason)"
        // Say so at once, then now and again: a node may wait a long time without state to serve.
        if joinFailures == 1 || joinFailures % 50 == 0 {
            actions.append(.note("\(lastReason) (attempt \(joinFailures)); not going live without the state"))
        }
    }

    private mutating func channelOpened(
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
                            channelAddress: configuration.channelAddress, clientAddress: configuration.clientAddress))))
            backupCore = BackupCore(epoch: epoch, machine: emptyMachine, limits: configuration.backupLimits, at: now)
            transition(to: .backup(channel: channel, primary: nil), .backup,
                reason: .joined(primary: knownPrimary?.claim.nodeName ?? "the peer"), into: &actions)
            joinFailures = 0
        } else if unidentified.count < configuration.unidentifiedChannelsLimit {
            unidentified.append(channel)
        } else {
            actions.append(.close(channel))
        }
    }

    // MARK: - Frames and channels

    private mutating func framesArrived(
        _ frames: [Frame], on channel: ChannelID, at now: Instant, into actions: inout [NodeAction]
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
        case .backup(channel): forwardToBackup(.framesArrived(frames), at: now, into: &actions)
        case .backup, .neither: actions.append(.close(channel))
        }
    }

    private mutating func channelClosed(
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

    private mutating func timerFired(at now: Instant, into actions: inout [NodeAction]) {
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

    private mutating func stopRequested(at now: Instant, into actions: inout [NodeAction]) {
        isStopRequested = true
        if target == .primary { return forwardToPrimary(.stopRequested, at: now, into: &actions) }
        switch role {
        case .primary:
            break
        case .backup(let channel, _):
            actions.append(.close(channel))
            transition(to: .stopped, .stopped, reason: .stopRequested, into: &actions)
            actions.append(.exit(.stopRequested))
        case .starting, .joining, .stopped:
            transition(to: .stopped, .stopped, reason: .stopRequested, into: &actions)
            actions.append(.exit(.stopRequested))
        }
    }

    // MARK: - Driving the cores

    private mutating func forwardToPrimary(_ event: PrimaryEvent, at now: Instant, into actions: inout [NodeAction]) {
        // Moved out and back, never copied: a copy would retain every reference the core holds.
        guard var primary = primaryCore.take() else { return }
        let before = primary.standing
        primaryActions.removeAllKeepingStorage()
        primary.handle(event, at: now, into: &primaryActions)
        let after = primary.standing
        let backupChannel = primary.backup?.channel
        let backupName = primary.backup?.hello.nodeName
        coreWakeup = primary.nextWakeup
        primaryCore = consume primary
        if before == .solo, after == .protected {
            let reason = RoleChangeReason.backupCaughtUp(backupName ?? "")
            lastReason = reason.description
            actions.append(.roleChanged(from: .solo, to: .primary, reason: reason))
        }
        for index in primaryActions.indices {
            // Taken, not copied (see `take(at:leaving:)`); the placeholder is never performed.
            switch primaryActions.take(at: index, leaving: .pauseIntake) {
            case .send(let channel, let frame): actions.append(.send(channel, frame))
            case .log(let channel, let epoch, let sequence, let entry):
                actions.append(.log(channel, epoch: epoch, sequence: sequence, entry))
            case .close(let channel): actions.append(.close(channel))
            case .release(let replies): actions.append(.release(replies))
            case .takeEpoch(let epoch): actions.append(.takeEpoch(epoch))
            // After a stop in this same event the core's intake is no longer this node's: it serves nobody.
            case .pauseIntake:
                guard case .primary = role else { continue }
                isIntakePaused = true
                actions.append(.pauseIntake)
            case .resumeIntake:
                guard case .primary = role else { continue }
                isIntakePaused = false
                actions.append(.resumeIntake)
            case .note(let line): actions.append(.note(line))
            case .stop(let reason):
                actions.append(.discardWithheld(reason))
                if let backupChannel { actions.append(.close(backupChannel)) }
                if isStopRequested {
                    transition(to: .stopped, .stopped, reason: .primaryStopped(reason), into: &actions)
                    actions.append(.exit(.primaryStopped(reason)))
                } else {
                    // The other node is live: this one's state is of no use; join it.
                    transition(
                        to: .joining(retryAt: now, isDialing: false), .joining, reason: .primaryStopped(reason),
                        into: &actions)
                }
            case .handedOver(let backup, let sequence):
                transition(to: .stopped, .stopped, reason: .handedOver(to: backup, through: sequence), into: &actions)
                actions.append(.exit(.handedOver(to: backup, through: sequence)))
            }
        }
        if let epoch = primaryCore?.epoch, before != .solo, before != after, after == .solo {
            let reason = RoleChangeReason.continuingSolo(epoch: epoch)
            lastReason = reason.description
            actions.append(.roleChanged(from: .primary, to: .solo, reason: reason))
        }
    }

    private mutating func forwardToBackup(_ event: BackupEvent, at now: Instant, into actions: inout [NodeAction]) {
        guard case .backup(let channel, var primary) = role else { return }
        if case .framesArrived(let frames) = event, primary == nil, case .checkpoint = frames.first {
            primary = knownPrimary.map {
                Hello(epoch: $0.epoch, nodeName: $0.claim.nodeName, channelAddress: $0.claim.channelAddress,
                      clientAddress: $0.claim.clientAddress)
            }
            role = .backup(channel: channel, primary: primary)
        }
        // Moved out and back, never copied: a copy would retain every reference the core holds.
        guard var backup = backupCore.take() else { return }
        let wasProtecting = backup.isProtecting
        backupActions.removeAllKeepingStorage()
        backup.handle(event, at: now, into: &backupActions)
        if !wasProtecting && backup.isProtecting {
            lastReason = "protecting \(primary?.nodeName ?? "the primary") from sequence \(backup.received + 1)"
        }
        coreWakeup = backup.nextWakeup
        backupCore = consume backup
        for index in backupActions.indices {
            // Taken, not copied (see `take(at:leaving:)`); the placeholder is never performed.
            switch backupActions.take(at: index, leaving: .closeChannel) {
            case .send(let frame): actions.append(.send(channel, frame))
            case .closeChannel: actions.append(.close(channel))
            case .takeEpoch(let epoch): actions.append(.takeEpoch(epoch))
            case .note(let line): actions.append(.note(line))
            case .becomePrimary(let epoch, let lastSequence, let loss):
                guard let machine = backupCore?.machine else { continue }
                becomePrimary(
                    epoch: epoch, machine: machine, lastSequence: lastSequence,
                    reason: .primaryLost(loss, grantedEpoch: epoch), at: now, into: &actions)
            case .rejoin(let reason):
                knownPrimary = nil
                transition(to: .joining(retryAt: now + configuration.joinRetryInterval, isDialing: false), .joining,
                    reason: .rejoining(reason), into: &actions)
            }
        }
    }

    private mutating func becomePrimary(
        epoch: UInt64, machine: Machine, lastSequence: UInt64, reason: RoleChangeReason, at now: Instant,
        into actions: inout [NodeAction]
    ) {
        // `transition` drops the backup core, so the machine's storage has one owner again before its first write.
        let primary = PrimaryCore(
            epoch: epoch, machine: machine, lastSequence: lastSequence, entropy: entropy,
            limits: configuration.primaryLimits)
        transition(to: .primary, .solo, reason: reason, into: &actions, primary: primary)
        if isStopRequested { forwardToPrimary(.stopRequested, at: now, into: &actions) }
    }

    /// The only place `role` becomes `.primary`, or leaves `.primary` or `.backup`: it keeps the cores in step.
    private mutating func transition(
        to newRole: Role, _ reported: NodeStatus.Role, reason: RoleChangeReason, into actions: inout [NodeAction],
        primary: PrimaryCore<Machine>? = nil
    ) {
        refreshStatus()  // what this event has changed so far
        let before = status
        let from = before.role
        lastEpoch = max(lastEpoch, before.epoch)
        role = newRole
        primaryCore = primary
        if case .backup = newRole {} else { backupCore = nil }
        coreWakeup = primary?.nextWakeup ?? backupCore?.nextWakeup
        lastReason = reason.description
        if reported == .stopped {
            // A primary stops by handing over to its backup (or losing the epoch to it), a backup leaves its
            // primary serving: either way the peer serves next. A solo primary leaves nobody.
            successorClientAddress = from == .primary || from == .backup ? lastPeerClientAddress : ""
        }
        actions.append(.roleChanged(from: from, to: reported, reason: reason))
        // Intake pauses are the serving primary's backpressure: a new primary starts reading, and a node that
        // stops serving answers its clients (with refusals) again.
        if isIntakePaused || reported == .solo || reported == .primary {
            isIntakePaused = false
            actions.append(.resumeIntake)
        }
    }
}
