import Arbiter
import Backup
import LogChannel
import Node
import Primary
import Replication
import Testing

extension Array where Element == PrimaryAction {
    /// The sequences the primary asked to persist, in order.
    var persisted: [UInt64] { compactMap { if case .persist(_, let sequence, _) = $0 { sequence } else { nil } } }
}

extension Array where Element == NodeAction {
    var tookEpochs: [UInt64] { compactMap { if case .takeEpoch(let epoch) = $0 { epoch } else { nil } } }
    var durableActions: [DurableAction] { compactMap { if case .durable(let action) = $0 { action } else { nil } } }
    var rejections: [RefusalReason] { compactMap { if case .reject(_, let reason) = $0 { reason } else { nil } } }
    var dials: [String] { compactMap { if case .dial(let address) = $0 { address } else { nil } } }
}

/// The node "a" a test restarts, beside its peer "b".
private func durableNode(recovered: RecoveredState<Counter>?) -> NodeCore<Counter> {
    var configuration = NodeConfiguration(
        nodeName: "a", channelAddress: "a:1", clientAddress: "a:2", peerChannelAddress: "b:1")
    configuration.isDurable = true
    return NodeCore(configuration: configuration, emptyMachine: Counter(), entropy: FixedEntropy(), recovered: recovered)
}

private func record(epoch: UInt64, owner: String) -> EpochRecord {
    EpochRecord(
        epoch: epoch, claim: Claim(nodeName: owner, channelAddress: "\(owner):1", clientAddress: "\(owner):2"),
        takenAtMilliseconds: 0)
}

private func recovered(owned: UInt64? = nil, protecting: UInt64? = nil) -> RecoveredState<Counter> {
    RecoveredState(machine: Counter(applied: 5), sequence: 5, epoch: 3, ownedEpoch: owned, protectingEpoch: protecting)
}

@Suite("durable cores: the disk in the output rule, acks and recovery")
struct DurableCoreTests {
    @Test("a durable solo primary persists every entry and releases a reply only once its entry is on disk")
    func soloWaitsForDisk() {
        var primary = PrimaryCore(
            epoch: 1, machine: Counter(), lastSequence: 0, entropy: FixedEntropy(), limits: PrimaryLimits(),
            persistedThrough: 0)
        let executed = primary.handle(.commandsArrived([command(1), command(2)]), at: at(1))
        #expect(executed.persisted == [1, 2])
        #expect(executed.releasedTags.isEmpty)
        #expect(primary.handle(.persisted(through: 1), at: at(2)).releasedTags == [1])
        #expect(primary.handle(.persisted(through: 2), at: at(3)).releasedTags == [2])
    }

    @Test("a durable protected primary releases only what is both acked by the backup and on its own disk")
    func protectedWaitsForBoth() {
        var primary = PrimaryCore(
            epoch: 1, machine: Counter(), lastSequence: 0, entropy: FixedEntropy(), limits: PrimaryLimits(),
            persistedThrough: 0)
        _ = primary.handle(.backupJoined(backupChannel, backupHello), at: at(0))
        let installed: [Frame] = [.checkpointAck(epoch: 1, sequence: 0, chunkIndex: 0), .ack(epoch: 1, received: 0, applied: 0)]
        _ = primary.handle(.framesArrived(backupChannel, installed), at: at(0))
        _ = primary.handle(.commandsArrived([command(1), command(2)]), at: at(1))
        let acked = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 2, applied: 2)]), at: at(2))
        #expect(acked.releasedTags.isEmpty)
        #expect(primary.handle(.persisted(through: 1), at: at(3)).releasedTags == [1])
        _ = primary.handle(.persisted(through: 2), at: at(4))
        #expect(primary.withheldCount == 0)
    }

    @Test("a slow disk slows intake like a slow backup: entries not yet durable have the unacked bound")
    func slowDiskPausesIntake() {
        var limits = PrimaryLimits()
        limits.unackedEntriesLimit = 3
        var primary = PrimaryCore(
            epoch: 1, machine: Counter(), lastSequence: 0, entropy: FixedEntropy(), limits: limits,
            persistedThrough: 0)
        let executed = primary.handle(.commandsArrived([command(1), command(2), command(3)]), at: at(1))
        #expect(executed.contains(.pauseIntake))
        #expect(primary.handle(.persisted(through: 3), at: at(2)).contains(.resumeIntake))
    }

    @Test("a durable backup acks no further than its disk, and acks again as the disk catches up")
    func backupAcksOnlyDurable() {
        var backup = BackupCore(epoch: 1, machine: Counter(), limits: BackupLimits(), at: at(0), isDurable: true)
        let checkpoint = Frame.checkpoint(
            epoch: 1, sequence: 0, chunkIndex: 0, isLast: true, estimatedBytes: 8, bytes: Counter().encoded())
        let installing = backup.handle(.framesArrived([checkpoint, .protecting(epoch: 1, sequence: 0)]), at: at(0))
        #expect(installing.contains(.discardDurableState))
        #expect(installing.contains(.persistInstalledState))
        #expect(installing.contains(.markProtecting(epoch: 1, fromSequence: 1)))
        let received = backup.handle(.framesArrived([entry(1), entry(2)]), at: at(1))
        let persists = received.compactMap { if case .persist(_, let sequence, _) = $0 { sequence } else { nil } }
        #expect(persists == [1, 2])
        #expect(received.acks == [.ack(epoch: 1, received: 0, applied: 0)])
        #expect(backup.handle(.persisted(through: 2), at: at(2)).acks == [.ack(epoch: 1, received: 2, applied: 2)])
    }

    @Test("the owner of the arbiter's epoch, with its marker, goes live from its disk at the next epoch")
    func ownerRecovers() {
        var node = durableNode(recovered: recovered(owned: 3))
        _ = node.handle(.started, at: at(0))
        let asked = node.handle(.arbiterAnswered(.current(record(epoch: 3, owner: "a"))), at: at(1))
        #expect(asked.tookEpochs == [4])
        #expect(asked.dials.isEmpty)
        let granted = node.handle(.arbiterAnswered(.took(.granted(record(epoch: 4, owner: "a")))), at: at(2))
        #expect(granted.durableActions == [.markOwned(epoch: 4)])
        #expect(node.status.role == .solo)
        #expect(node.status.epoch == 4)
        #expect(node.machine == Counter(applied: 5))
        #expect(node.appliedSequence == 5)
    }

    @Test("the protecting backup of the arbiter's epoch tries the primary first, and goes live only if it is gone")
    func protectingBackupRecoversWhenPrimaryIsGone() {
        var node = durableNode(recovered: recovered(protecting: 3))
        _ = node.handle(.started, at: at(0))
        let read = node.handle(.arbiterAnswered(.current(record(epoch: 3, owner: "b"))), at: at(1))
        #expect(read.dials == ["b:1"])
        #expect(read.tookEpochs.isEmpty)
        let failed = node.handle(.dialFailed(.endOfStream), at: at(2))
        #expect(failed.tookEpochs == [4])
        _ = node.handle(.arbiterAnswered(.took(.granted(record(epoch: 4, owner: "a")))), at: at(3))
        #expect(node.status.role == .solo)
        #expect(node.appliedSequence == 5)
    }

    @Test("a node whose disk proves nothing for the arbiter's epoch waits, and says why")
    func unprovenWaits() {
        for state in [recovered(owned: 2), recovered(protecting: 2), recovered()] {
            var node = durableNode(recovered: state)
            _ = node.handle(.started, at: at(0))
            _ = node.handle(.arbiterAnswered(.current(record(epoch: 3, owner: "b"))), at: at(1))
            let failed = node.handle(.dialFailed(.endOfStream), at: at(2))
            #expect(failed.tookEpochs.isEmpty)
            #expect(node.status.role == .joining)
            #expect(node.status.reason.contains("cannot prove it holds every acknowledged write"))
        }
        // Named the owner, but holding the marker of an older epoch only: it may have released in the newer one.
        var stale = durableNode(recovered: recovered(owned: 1))
        _ = stale.handle(.started, at: at(0))
        let read = stale.handle(.arbiterAnswered(.current(record(epoch: 3, owner: "a"))), at: at(1))
        #expect(read.tookEpochs.isEmpty)
    }

    @Test("the owner that died before its marker for the epoch was durable proves it with its marker for the one before")
    func ownerWithoutItsMarkerYet() {
        for state in [recovered(owned: 2), recovered(protecting: 2)] {
            var node = durableNode(recovered: state)
            _ = node.handle(.started, at: at(0))
            let asked = node.handle(.arbiterAnswered(.current(record(epoch: 3, owner: "a"))), at: at(1))
            #expect(asked.tookEpochs == [4])
        }
    }

    @Test("with data on disk and an empty arbiter, the node does not start a new cluster over it")
    func emptyArbiterWithData() {
        var node = durableNode(recovered: recovered(owned: 3))
        _ = node.handle(.started, at: at(0))
        let answered = node.handle(.arbiterAnswered(.current(nil)), at: at(1))
        #expect(answered.tookEpochs.isEmpty)
        #expect(node.status.reason.contains("not serving it as a new cluster"))
    }

    @Test("while the log cannot be written, a serving primary refuses data commands, and takes them again after")
    func persistenceFailureRefuses() {
        var node = durableNode(recovered: nil)
        _ = node.handle(.started, at: at(0))
        _ = node.handle(.arbiterAnswered(.current(nil)), at: at(1))
        _ = node.handle(.arbiterAnswered(.took(.granted(record(epoch: 1, owner: "a")))), at: at(2))
        #expect(node.status.role == .solo)
        _ = node.handle(.persistenceChanged(failure: "disk full"), at: at(3))
        #expect(node.status.persistenceFailure == "disk full")
        let refused = node.handle(.commandsArrived([command(1)]), at: at(4))
        #expect(refused.rejections == [.persistenceFailed("disk full")])
        _ = node.handle(.persistenceChanged(failure: nil), at: at(5))
        let taken = node.handle(.commandsArrived([command(2)]), at: at(6))
        #expect(taken.rejections.isEmpty)
        #expect(taken.contains { if case .persist(_, 1, _) = $0 { true } else { false } })
    }
}
