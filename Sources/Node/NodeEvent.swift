import Arbiter
import LogChannel
import Replication

/// Facts a node learns from its driver (the runtime, or the simulator).
public enum NodeEvent: Equatable, Sendable {
    /// The driver is ready: the node asks the arbiter who is live.
    case started
    /// The arbiter's answer to the last `.readArbiter` or `.takeEpoch`.
    case arbiterAnswered(ArbiterAnswer)
    /// A logging-channel connection is up: one this node dialed, or one it accepted.
    case channelOpened(ChannelID, isDialed: Bool)
    /// A `.dial` did not open a channel; a joining node waits and looks for a primary again.
    case dialFailed(ChannelCloseReason)
    /// Frames decoded from one read on the channel, in order.
    case framesArrived(ChannelID, [Frame])
    /// The channel closed, for the reason given, and carries nothing more.
    case channelClosed(ChannelID, ChannelCloseReason)
    /// Client commands read this round, in arrival order; only a primary executes them, others reject them.
    case commandsArrived([ClientCommand])
    /// This node's durable log holds every entry through `sequence`.
    case persisted(through: UInt64)
    /// Writing the durable log failed (`cause`), or succeeds again (nil): a serving primary refuses data commands
    /// meanwhile.
    case persistenceChanged(failure: String?)
    /// The time in `nextWakeup` has come.
    case timerFired
    /// An operator asked the node to stop: a protected primary hands over to its backup first, a primary asking the
    /// arbiter waits for its answer, any other node stops at once; `.exit` follows.
    case stopRequested
}
