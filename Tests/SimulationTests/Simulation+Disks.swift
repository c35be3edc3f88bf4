import LogChannel
import Node
import Replication

/// The nodes' disks: durable actions queued in order and made durable some time later, as the runtime's
/// `DurabilityWorker` does, reported back to the node as `.persisted`.
extension PairSimulation {
    /// The log grows by this many entries between the snapshots a node takes (the runtime goes by bytes).
    static var snapshotEveryEntries: UInt64 { 40 }

    mutating func persist(_ job: SimulatedDisk<Workload.Machine>.Job, by index: Int) {
        disks[index].take(job)
        if case .append(_, let sequence, _) = job, sequence % Self.snapshotEveryEntries == 0 {
            // As the runtime does when the log has grown enough: freeze the machine, write it, cut the log behind it.
            takeSnapshot(by: index)
        }
        scheduleDiskSync(index)
    }

    mutating func perform(_ action: DurableAction, by index: Int) {
        switch action {
        case .discardState: persist(.discard, by: index)
        case .snapshotState: takeSnapshot(by: index)
        case .markOwned(let epoch): persist(.markOwned(epoch), by: index)
        case .markProtecting(let epoch, let sequence):
            persist(.markProtecting(epoch: epoch, fromSequence: sequence), by: index)
        }
    }

    private mutating func takeSnapshot(by index: Int) {
        guard let machine = nodes[index].core.machine else { return }
        let core = nodes[index].core
        disks[index].take(.snapshot(machine, epoch: core.status.epoch, sequence: core.appliedSequence))
        scheduleDiskSync(index)
    }

    private mutating func scheduleDiskSync(_ index: Int) {
        guard !disks[index].isSyncScheduled else { return }
        disks[index].isSyncScheduled = true
        let delay: Duration = faults.slowDisk ? .microseconds(Int64(500 + random.next() % 20_000)) : .microseconds(200)
        schedule(.diskSync(index), after: delay)
    }

    mutating func syncDisk(_ index: Int) {
        disks[index].isSyncScheduled = false
        guard nodes[index].isUp else { return }
        let incarnation = nodes[index].incarnation
        if now < diskFullUntil[index] {
            if !disks[index].isFailureReported {
                disks[index].isFailureReported = true
                schedule(.node(index, incarnation: incarnation, .persistenceChanged(failure: "disk full")), after: .zero)
            }
            disks[index].isSyncScheduled = true
            schedule(.diskSync(index), after: .milliseconds(5))
            return
        }
        disks[index].sync()
        if disks[index].isFailureReported {
            disks[index].isFailureReported = false
            schedule(.node(index, incarnation: incarnation, .persistenceChanged(failure: nil)), after: .zero)
        }
        schedule(
            .diskReport(index, incarnation: incarnation, generation: disks[index].discardsSynced,
                through: disks[index].persistedThrough), after: .zero)
    }

    mutating func diskReported(_ index: Int, incarnation: Int, generation: Int, through sequence: UInt64) {
        guard generation == disks[index].discardsTaken else { return }  // about a log discarded since
        offer(.persisted(through: sequence), to: index, incarnation: incarnation)
    }
}
