import LogChannel

/// Why a primary stopped serving and dropped every withheld reply.
public enum StopReason: Equatable, Sendable, CustomStringConvertible {
    /// It lost its backup, asked the arbiter for `epoch`, and `winner` had taken it: the backup is live.
    case lostEpoch(UInt64, winner: String)
    /// An operator asked it to stop while no backup could take over.
    case stopRequestedWithoutBackup

    /// One phrase for the log saying why the primary stopped.
    public var description: String {
        switch self {
        case .lostEpoch(let epoch, let winner):
            "lost epoch \(epoch) to \(winner) at the arbiter; released nothing"
        case .stopRequestedWithoutBackup:
            "stop requested with no backup to hand over to"
        }
    }
}

/// Why a primary let go of its backup link.
public enum BackupLossReason: Equatable, Sendable, CustomStringConvertible {
    /// The channel to the backup closed (end of stream, a decode error, silence).
    case channelClosed(ChannelCloseReason)
    /// The same node said hello again on a new channel: the old link belongs to a process that is gone.
    case rejoinedOnNewChannel(String)
    /// The backup acked entries this primary never sent, or applied more than it received.
    case impossibleAck(received: UInt64, applied: UInt64, lastSequence: UInt64)
    /// The backup acked checkpoint chunk `chunkIndex` as installed, but only `sent` chunks went out.
    case impossibleCheckpointAck(chunkIndex: UInt32, sent: UInt32)

    /// One phrase for the log saying why the backup link was dropped.
    public var description: String {
        switch self {
        case .channelClosed(let reason): reason.description
        case .rejoinedOnNewChannel(let name): "\(name) joined on a new channel"
        case .impossibleAck(let received, let applied, let lastSequence):
            "backup acked \(received)/\(applied) beyond sequence \(lastSequence)"
        case .impossibleCheckpointAck(let chunkIndex, let sent):
            "backup acked checkpoint chunk \(chunkIndex) of \(sent) sent"
        }
    }
}
