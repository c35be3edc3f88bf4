import LogChannel
import Replication

/// Orders the primary gives its driver: imperative, performed in array order.
public enum PrimaryAction: Equatable, Sendable {
    /// Write the frame on the channel: checkpoint chunks, the `protecting` and `handover` markers, refusals.
    case send(ChannelID, Frame)
    /// Ship entry `sequence` of the log: an `.entry` frame whose payload is `entry`'s encoding. The runtime encodes
    /// it straight into the channel's send buffer, so the core builds no payload of its own.
    case log(ChannelID, epoch: UInt64, sequence: UInt64, LogEntry)
    /// Append entry `sequence` to this node's durable log (only with a data directory); `.persisted` reports it.
    case persist(epoch: UInt64, sequence: UInt64, LogEntry)
    /// Close the channel and drop its unwritten frames.
    case close(ChannelID)
    /// These replies may leave: the output rule holds for each.
    case release([Reply])
    /// Try to take `epoch`; the answer returns as `.arbiterAnswered`.
    case takeEpoch(UInt64)
    /// Stop or start reading client commands: paused while the unacked log or the backup's replay lag is at its bound,
    /// and while the primary may not execute (awaiting the arbiter, handing over, stopped).
    case pauseIntake, resumeIntake
    /// The primary has no right to go on: release nothing more, drop every withheld reply.
    case stop(StopReason)
    /// A planned switchover is done: `backup` has every entry through `sequence` and was told to go live.
    case handedOver(to: String, through: UInt64)
    /// A line for the operator's log.
    case note(String)
}
