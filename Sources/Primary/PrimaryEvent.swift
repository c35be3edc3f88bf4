import Arbiter
import LogChannel
import Replication

/// Facts the primary learns: past tense.
public enum PrimaryEvent: Equatable, Sendable {
    /// Client commands read this round, in arrival order; each is executed, logged and its reply withheld, unless the
    /// primary is handing over or stopped.
    case commandsArrived([ClientCommand])
    /// A joining node's hello arrived on `channel`; it wants a checkpoint.
    case backupJoined(ChannelID, Hello)
    /// Frames from a channel; only acks of the current epoch from the linked backup's channel count.
    case framesArrived(ChannelID, [Frame])
    /// A channel closed; if it was the backup's, the backup is lost.
    case channelClosed(ChannelID, ChannelCloseReason)
    /// The arbiter's answer to an earlier `.takeEpoch`.
    case arbiterAnswered(ArbiterAnswer)
    /// The time in `nextWakeup` has come: log a tick if one is due, or ask the arbiter again.
    case timerFired
    /// This node's durable log holds every entry through `sequence` (only with a data directory).
    case persisted(through: UInt64)
    /// An operator asked the node to stop (SIGTERM): hand over to a caught-up backup first.
    case stopRequested
}
