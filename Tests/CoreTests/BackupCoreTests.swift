import Arbiter
import Backup
import LogChannel
import Replication
import Testing

extension Array where Element == BackupAction {
    var acks: [Frame] { compactMap { if case .send(let frame) = $0, frame.kind == .ack { frame } else { nil } } }
    var rejoined: Bool { contains { if case .rejoin = $0 { true } else { false } } }
}

func entry(_ sequence: UInt64, epoch: UInt64 = 1, recorded: [Recorded] = [.random(7)]) -> Frame {
    .entry(epoch: epoch, sequence: sequence, payload: LogEntry.command(Array("c".utf8), recorded: recorded).encoded)
}

/// A backup following a primary at epoch 1 from an empty checkpoint.
func followingBackup(protecting: Bool = true) -> BackupCore<Counter> {
    var backup = BackupCore(epoch: 1, machine: Counter(), limits: BackupLimits(), at: at(0))
    let checkpoint = Frame.checkpoint(epoch: 1, sequence: 0, chunkIndex: 0, isLast: true, estimatedBytes: 8,
                                      bytes: Counter().encoded())
    var frames = [checkpoint]
    if protecting { frames.append(.protecting(epoch: 1, sequence: 0)) }
    _ = backup.handle(.framesArrived(frames), at: at(0))
    return backup
}

@Suite("backup core")
struct BackupCoreTests {
    @Test("one cumulative ack answers a batch of entries")
    func cumulativeAck() {
        var backup = followingBackup()
        let actions = backup.handle(.framesArrived([entry(1), entry(2), entry(3)]), at: at(1))
        #expect(actions.acks == [.ack(epoch: 1, received: 3, applied: 3)])
        #expect(backup.machine.applied == 3)
    }

    @Test("a slow replay acks what arrived and reports what it applied")
    func slowReplay() {
        var limits = BackupLimits()
        limits.replayBatchLimit = 1
        var backup = BackupCore(epoch: 1, machine: Counter(), limits: limits, at: at(0))
        _ = backup.handle(.framesArrived([.checkpoint(epoch: 1, sequence: 0, chunkIndex: 0, isLast: true,
                                                      estimatedBytes: 8, bytes: Counter().encoded())]), at: at(0))
        let actions = backup.handle(.framesArrived([entry(1), entry(2), entry(3)]), at: at(1))
        #expect(actions.acks == [.ack(epoch: 1, received: 3, applied: 1)])
        #expect(backup.replayLag == 2)
    }

    @Test("a protecting backup replays everything received before it asks for the next epoch")
    func goLive() {
        var limits = BackupLimits()
        limits.replayBatchLimit = 1
        var backup = BackupCore(epoch: 1, machine: Counter(), limits: limits, at: at(0))
        _ = backup.handle(.framesArrived([.checkpoint(epoch: 1, sequence: 0, chunkIndex: 0, isLast: true,
                                                      estimatedBytes: 8, bytes: Counter().encoded()),
                                          .protecting(epoch: 1, sequence: 0)]), at: at(0))
        _ = backup.handle(.framesArrived([entry(1), entry(2), entry(3)]), at: at(1))
        // Past the read lease promised from the last frame: the arbiter is asked at once.
        let lost = backup.handle(.channelClosed(.endOfStream), at: at(1) + limits.readLease)
        #expect(backup.applied == 3)
        #expect(lost.contains(.takeEpoch(2)))
        let record = EpochRecord(epoch: 2, claim: Claim(nodeName: "b", channelAddress: "", clientAddress: ""),
                                 takenAtMilliseconds: 0)
        let granted = backup.handle(.arbiterAnswered(.took(.granted(record))), at: at(3) + limits.readLease)
        #expect(granted.contains { if case .becomePrimary(2, 3, _) = $0 { true } else { false } })
    }

    @Test("a backup that loses the channel within its read lease asks for the next epoch only once the lease ends")
    func goLiveAfterReadLease() {
        var backup = followingBackup()
        let lease = BackupLimits().readLease
        _ = backup.handle(.framesArrived([entry(1)]), at: at(1))
        // The channel closes a moment after the last frame: the primary may still answer reads under the lease.
        let lost = backup.handle(.channelClosed(.endOfStream), at: at(1) + lease / 2)
        #expect(!lost.contains(.takeEpoch(2)))
        #expect(backup.applied == 1)
        #expect(backup.nextWakeup == at(1) + lease)
        #expect(!backup.handle(.timerFired, at: at(1) + lease / 2 + .microseconds(1)).contains(.takeEpoch(2)))
        #expect(backup.handle(.timerFired, at: at(1) + lease).contains(.takeEpoch(2)))
    }

    @Test("a backup the primary handed over to asks for the next epoch at once, lease or not")
    func handoverSkipsReadLease() {
        var backup = followingBackup()
        _ = backup.handle(.framesArrived([entry(1)]), at: at(1))
        let handedOver = backup.handle(.framesArrived([.handover(epoch: 1, sequence: 1)]), at: at(1))
        #expect(handedOver.contains(.takeEpoch(2)))
    }

    @Test("a backup that was never marked protecting does not go live")
    func notProtectingRejoins() {
        var backup = followingBackup(protecting: false)
        _ = backup.handle(.framesArrived([entry(1)]), at: at(1))
        let lost = backup.handle(.channelClosed(.endOfStream), at: at(2))
        #expect(!lost.contains(.takeEpoch(2)))
        #expect(lost.rejoined)
    }

    @Test("losing the race for the next epoch means the primary is alive: drop the state and rejoin")
    func lostRaceRejoins() {
        var backup = followingBackup()
        _ = backup.handle(.channelClosed(.peerSilent(.milliseconds(300))), at: at(1))
        let winner = EpochRecord(epoch: 2, claim: Claim(nodeName: "a", channelAddress: "", clientAddress: ""),
                                 takenAtMilliseconds: 0)
        #expect(backup.handle(.arbiterAnswered(.took(.lost(to: winner))), at: at(2)).rejoined)
    }

    @Test("a digest that disagrees is a divergence: the backup stops acking and rejoins")
    func divergence() {
        var backup = followingBackup()
        let wrong = Frame.entry(epoch: 1, sequence: 2, payload: LogEntry.digest(12345).encoded)
        let actions = backup.handle(.framesArrived([entry(1), wrong]), at: at(1))
        #expect(actions.acks.isEmpty)
        #expect(actions.rejoined)
        #expect(actions.contains { if case .rejoin(.diverged(sequence: 2, _)) = $0 { true } else { false } })
    }

    @Test("replay that asks for an unrecorded value is a divergence")
    func unrecordedValue() {
        var backup = followingBackup()
        let actions = backup.handle(.framesArrived([entry(1, recorded: [])]), at: at(1))
        #expect(actions.rejoined)
        #expect(actions.acks.isEmpty)
    }

    @Test("a gap in the log means this backup can no longer be trusted to take over")
    func gap() {
        var backup = followingBackup()
        let actions = backup.handle(.framesArrived([entry(1), entry(3)]), at: at(1))
        #expect(actions.rejoined)
    }

    @Test("a duplicated entry is ignored")
    func duplicate() {
        var backup = followingBackup()
        let actions = backup.handle(.framesArrived([entry(1), entry(1), entry(2)]), at: at(1))
        #expect(actions.acks == [.ack(epoch: 1, received: 2, applied: 2)])
        #expect(backup.machine.applied == 2)
    }

    @Test("a handover makes a caught-up backup ask for the next epoch at once")
    func handover() {
        var backup = followingBackup()
        _ = backup.handle(.framesArrived([entry(1)]), at: at(1))
        let actions = backup.handle(.framesArrived([.handover(epoch: 1, sequence: 1)]), at: at(2))
        #expect(actions.contains(.takeEpoch(2)))
    }

    @Test("no checkpoint within the wait limit means trying another join")
    func checkpointWait() {
        var backup = BackupCore(epoch: 1, machine: Counter(), limits: BackupLimits(), at: at(0))
        #expect(backup.nextWakeup == at(0) + BackupLimits().checkpointWaitLimit)
        #expect(backup.handle(.timerFired, at: at(0) + BackupLimits().checkpointWaitLimit).rejoined)
    }
}
