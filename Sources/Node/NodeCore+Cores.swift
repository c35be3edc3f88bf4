import Arbiter
import Backup
import LogChannel
import Primary
import Replication

/// Handing events to the primary and backup cores, and the role transitions their actions lead to.
extension NodeCore {
    mutating func forwardToPrimary(_ event: PrimaryEvent, at now: Instant, into actions: inout [NodeAction]) {
        // Handled where it is stored and read through optional chaining, one field at a time: moving the core out and
        // back copies all of it twice per event, and a copy would retain every reference it holds.
        guard let before = primaryCore?.standing, let epochBefore = primaryCore?.epoch else { return }
        // The role this node reported before the event: a core that stops reports itself stopped already.
        let servedAs: NodeStatus.Role = before == .solo ? .solo : .primary
        primaryActions.removeAllKeepingStorage()
        primaryCore?.handle(event, at: now, into: &primaryActions)
        guard let after = primaryCore?.standing, let epochAfter = primaryCore?.epoch else { return }
        let backupChannel = primaryCore?.backup?.channel
        let backupName = primaryCore?.backup?.hello.nodeName
        coreWakeup = primaryCore?.nextWakeup
        if configuration.isDurable, epochAfter != epochBefore {
            // Before the core's own actions, so no entry of the new epoch counts as persisted before the marker.
            actions.append(.durable(.markOwned(epoch: epochAfter)))
        }
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
            case .persist(let epoch, let sequence, let entry):
                actions.append(.persist(epoch: epoch, sequence: sequence, entry))
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
                    transition(
                        to: .stopped, .stopped, reason: .primaryStopped(reason), into: &actions, from: servedAs)
                    actions.append(.exit(.primaryStopped(reason)))
                } else {
                    // The other node is live: this one's state is of no use; join it.
                    transition(
                        to: .joining(retryAt: now, isDialing: false), .joining, reason: .primaryStopped(reason),
                        into: &actions, from: servedAs)
                }
            case .handedOver(let backup, let sequence):
                transition(
                    to: .stopped, .stopped, reason: .handedOver(to: backup, through: sequence), into: &actions,
                    from: servedAs)
                actions.append(.exit(.handedOver(to: backup, through: sequence)))
            }
        }
        if let epoch = primaryCore?.epoch, before != .solo, before != after, after == .solo {
            let reason = RoleChangeReason.continuingSolo(epoch: epoch)
            lastReason = reason.description
            actions.append(.roleChanged(from: .primary, to: .solo, reason: reason))
        }
    }

    mutating func forwardToBackup(_ event: consuming BackupEvent, at now: Instant, into actions: inout [NodeAction]) {
        guard case .backup(let channel) = role else { return }
        if followedPrimary == nil, case .framesArrived(let frames) = event, case .checkpoint = frames.first {
            followedPrimary = knownPrimary.map {
                Hello(epoch: $0.epoch, nodeName: $0.claim.nodeName, channelAddress: $0.claim.channelAddress,
                      clientAddress: $0.claim.clientAddress)
            }
        }
        // Handled where it is stored (see `forwardToPrimary`).
        guard let wasProtecting = backupCore?.isProtecting else { return }
        backupActions.removeAllKeepingStorage()
        backupCore?.handle(consume event, at: now, into: &backupActions)
        if !wasProtecting, backupCore?.isProtecting == true {
            let from = (backupCore?.received ?? 0) + 1
            lastReason = "protecting \(followedPrimary?.nodeName ?? "the primary") from sequence \(from)"
        }
        coreWakeup = backupCore?.nextWakeup
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
                    reason: .primaryLost(loss, grantedEpoch: epoch), persistedThrough: backupCore?.persistedThrough,
                    at: now, into: &actions)
            case .rejoin(let reason):
                knownPrimary = nil
                transition(to: .joining(retryAt: now + configuration.joinRetryInterval, isDialing: false), .joining,
                    reason: .rejoining(reason), into: &actions)
                if let record = arbiterRecord, let proof = recoveryProof(under: record) {
                    // Still holding what the disk gave it (no checkpoint replaced it): nobody else took it further.
                    recover(under: record, proof: proof, into: &actions)
                }
            case .discardDurableState:
                recovered = nil  // a live primary is bringing this node up to date
                actions.append(.durable(.discardState))
            case .persist(let epoch, let sequence, let entry):
                actions.append(.persist(epoch: epoch, sequence: sequence, entry))
            case .persistInstalledState:
                actions.append(.durable(.snapshotState))
            case .markProtecting(let epoch, let sequence):
                actions.append(.durable(.markProtecting(epoch: epoch, fromSequence: sequence)))
            }
        }
    }

    /// `persistedThrough`: where this node's durable log ends (nil without one).
    mutating func becomePrimary(
        epoch: UInt64, machine: Machine, lastSequence: UInt64, reason: RoleChangeReason, persistedThrough: UInt64?,
        at now: Instant, into actions: inout [NodeAction]
    ) {
        // `transition` drops the backup core, so the machine's storage has one owner again before its first write.
        let primary = PrimaryCore(
            epoch: epoch, machine: machine, lastSequence: lastSequence, entropy: entropy,
            limits: configuration.primaryLimits, persistedThrough: persistedThrough)
        if persistedThrough != nil { actions.append(.durable(.markOwned(epoch: epoch))) }
        transition(to: .primary, .solo, reason: reason, into: &actions, primary: primary)
        if isStopRequested { forwardToPrimary(.stopRequested, at: now, into: &actions) }
    }

    /// The only place `role` becomes `.primary`, or leaves `.primary` or `.backup`: it keeps the cores in step.
    mutating func transition(
        to newRole: Role, _ reported: NodeStatus.Role, reason: RoleChangeReason, into actions: inout [NodeAction],
        primary: PrimaryCore<Machine>? = nil, from reportedBefore: NodeStatus.Role? = nil
    ) {
        refreshStatus()  // what this event has changed so far
        let before = status
        let from = reportedBefore ?? before.role
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
