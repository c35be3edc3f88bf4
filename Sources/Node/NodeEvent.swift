import Arbiter
import LogChannel
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
