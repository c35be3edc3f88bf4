import Node
import Replication

/// A node's data directory in the simulation: what survives its crashes, with `--fsync always` semantics.
///
/// Like `DurabilityWorker`, it takes the node's durable actions in order into a queue and makes them durable in one
/// go, some time later (a slow disk), then reports `.persisted`. A crash drops the queue: the unsynced tail, torn or
/// not, is gone (the real log cuts a torn tail back to its last whole record, which comes to the same). While the
/// disk is full nothing in the queue gets written, and the node hears of it once.
struct SimulatedDisk<Machine: StateMachine> {
    enum Job {
        case append(epoch: UInt64, sequence: UInt64, LogEntry)
        case discard
        case snapshot(Machine, epoch: UInt64, sequence: UInt64)
        case markOwned(UInt64)
        case markProtecting(epoch: UInt64, fromSequence: UInt64)
    }

    /// Entries made durable since `snapshot`, in order.
    private(set) var log: [(epoch: UInt64, sequence: UInt64, entry: LogEntry)] = []
    private(set) var snapshot: (machine: Machine, epoch: UInt64, sequence: UInt64)?
    private(set) var ownedEpoch: UInt64?
    private(set) var protectingEpoch: UInt64?
    /// Jobs taken and not yet durable: lost with a crash.
    private(set) var queue: [Job] = []
    private var protectingPending: (epoch: UInt64, fromSequence: UInt64)?
    private var isBaseMissing = false
    /// Whether the node was told of a failure it has not yet heard the end of.
    var isFailureReported = false
    /// When a sync is scheduled, so that a burst of jobs gets one.
    var isSyncScheduled = false
    /// Discards taken, and discards made durable: a report made before the latest discard is about a log that is
    /// gone, and the driver drops it (as `NodeDriver` does with its generations).
    private(set) var discardsTaken = 0
    private(set) var discardsSynced = 0

    /// The last entry the log holds.
    var persistedThrough: UInt64 { log.last?.sequence ?? snapshot?.sequence ?? 0 }

    mutating func take(_ job: Job) {
        if case .discard = job { discardsTaken += 1 }
        queue.append(job)
    }

    /// The process died: what was not yet durable is gone.
    mutating func crash() {
        queue = []
        isSyncScheduled = false
        isFailureReported = false
        discardsTaken = discardsSynced
    }

    /// Makes every queued job durable, in order.
    mutating func sync() {
        for job in queue {
            switch job {
            case .append(let epoch, let sequence, let entry):
                precondition(log.last.map { $0.sequence + 1 == sequence } ?? true, "a gap in the durable log")
                log.append((epoch, sequence, entry))
            case .discard:
                ownedEpoch = nil
                protectingEpoch = nil
                protectingPending = nil
                log = []
                snapshot = nil
                isBaseMissing = true
                discardsSynced += 1
            case .snapshot(let machine, let epoch, let sequence):
                snapshot = (machine, epoch, sequence)
                log.removeAll { $0.sequence <= sequence }
                isBaseMissing = false
            case .markOwned(let epoch):
                ownedEpoch = epoch
            case .markProtecting(let epoch, let sequence):
                protectingPending = (epoch, sequence)
            }
        }
        queue = []
        if let pending = protectingPending, !isBaseMissing, persistedThrough + 1 >= pending.fromSequence {
            protectingEpoch = pending.epoch
            protectingPending = nil
        }
    }

    /// The state a restarted node loads: the snapshot with the log replayed over it; nil when the disk holds none,
    /// or none whole. `emptyMachine` is what the log replays over when no snapshot was taken.
    func recover(emptyMachine: Machine) -> RecoveredState<Machine>? {
        guard snapshot != nil || !log.isEmpty else { return nil }
        let base = snapshot?.sequence ?? 0
        if let first = log.first, first.sequence > base + 1 { return nil }
        var machine = snapshot?.machine ?? emptyMachine
        var sequence = base
        var epoch = snapshot?.epoch ?? 0
        for record in log where record.sequence > base {
            let outcome = machine.replay(record.entry)
            precondition(outcome == .replayed, "entry \(record.sequence) on a simulated disk did not replay: \(outcome)")
            sequence = record.sequence
            epoch = record.epoch
        }
        return RecoveredState(
            machine: machine, sequence: sequence, epoch: epoch, ownedEpoch: ownedEpoch, protectingEpoch: protectingEpoch)
    }
}
