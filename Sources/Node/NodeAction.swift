import LogChannel
import Primary
import Replication

/// Orders a node gives its driver, performed in array order.
public enum NodeAction: Equatable, Sendable {
    /// Read the arbiter's current epoch; the answer returns as `.arbiterAnswered(.current)`.
    case readArbiter
    /// Try to take `epoch` with this node's claim; the answer returns as `.arbiterAnswered(.took)`.
    case takeEpoch(UInt64)
    /// Open a logging channel to `address`; reported as `.channelOpened(_, isDialed: true)` or `.dialFailed`.
    case dial(address: String)
    /// Write the frame on the logging channel; a closed channel drops it.
    case send(ChannelID, Frame)
    /// Ship a log entry as an `.entry` frame, encoding it straight into the channel's send buffer.
    case log(ChannelID, epoch: UInt64, sequence: UInt64, LogEntry)
    /// Append the entry to this node's durable log (only with a data directory); `.persisted` reports progress.
    case persist(epoch: UInt64, sequence: UInt64, LogEntry)
    /// A change to this node's durable state other than an entry (only with a data directory).
    case durable(DurableAction)
    /// Close the logging channel and drop its unwritten frames; the node expects no `.channelClosed` for it.
    case close(ChannelID)
    /// These replies may leave: the output rule holds for each.
    case release([Reply])
    /// These commands were not executed; tell their clients so (they may retry elsewhere).
    case reject([UInt64], RefusalReason)
    /// Every reply still withheld will never be released by this node: drop those clients' requests.
    case discardWithheld(StopReason)
    /// Stop or start reading client commands: the serving primary's backpressure; a node that stops serving
    /// resumes, so its clients get refusals rather than silence.
    case pauseIntake, resumeIntake
    /// One line per role transition, with its reason.
    case roleChanged(from: NodeStatus.Role, to: NodeStatus.Role, reason: RoleChangeReason)
    /// A line for the log; it changes nothing.
    case note(String)
    /// Leave the process: a requested stop is complete.
    case exit(ExitReason)
}

/// Changes to a node's durable state besides log entries, performed in order with the entries around them.
public enum DurableAction: Equatable, Sendable {
    /// The state on disk is of no use any more (a live primary is sending a checkpoint): remove its markers, then its
    /// log and snapshots; the log starts again with the next entry persisted.
    case discardState
    /// Write the node's machine, as it is when the action is performed, as a snapshot at `NodeCore.appliedSequence`.
    case snapshotState
    /// This node owns `epoch`: durable before any entry of that epoch counts as persisted.
    case markOwned(epoch: UInt64)
    /// This node protects the primary of `epoch` from entry `fromSequence` on: written once the snapshot since the
    /// last `discardState` and the log before `fromSequence` are durable.
    case markProtecting(epoch: UInt64, fromSequence: UInt64)
}
