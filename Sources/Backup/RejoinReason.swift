import LogChannel

/// Why a backup dropped its state to join the live primary as a fresh backup.
///
/// Each case means this node's state is of no use for going live: it never had every released reply, it no
/// longer matches the primary's, or the primary is alive elsewhere.
public enum RejoinReason: Equatable, Sendable, CustomStringConvertible {
    /// The primary went away before it marked this backup protecting.
    case primaryLostBeforeProtecting(PrimaryLossReason)
    /// The arbiter gave the epoch this backup wanted to `winner`: the primary is alive.
    case lostEpoch(UInt64, winner: String)
    /// The peer refused the hello or the link, saying why.
    case refused(String)
    /// No checkpoint chunk arrived within `BackupLimits.checkpointWaitLimit` of the hello or of the previous chunk.
    case checkpointTimedOut(Duration)
    /// A checkpoint chunk did not belong to the checkpoint in progress, or made it too large.
    case checkpointChunkMisfit(chunkIndex: UInt32)
    /// The checkpoint did not restore.
    case checkpointUnreadable(String)
    /// A log frame broke the stream's order: an entry before the checkpoint, a gap, a misplaced marker.
    case logOutOfOrder(sequence: UInt64, holding: UInt64)
    /// An entry's payload did not decode.
    case entryUnreadable(sequence: UInt64, String)
    /// More entries waited for replay than `BackupLimits.pendingEntriesLimit`.
    case replayLagExceeded(Int)
    /// Replay produced a different state than the primary's (a digest mismatch, or a value read that was not
    /// recorded): this backup has diverged.
    case diverged(sequence: UInt64, String)

    /// One sentence for the log saying why this backup's state was dropped.
    public var description: String {
        switch self {
        case .primaryLostBeforeProtecting(let loss): "primary lost (\(loss)) before this backup was protecting"
        case .lostEpoch(let epoch, let winner): "epoch \(epoch) went to \(winner): the primary is alive"
        case .refused(let reason): "the peer refused: \(reason)"
        case .checkpointTimedOut(let limit): "no checkpoint chunk within \(limit) of the hello or the previous chunk"
        case .checkpointChunkMisfit(let index): "checkpoint chunk \(index) does not fit the checkpoint in progress"
        case .checkpointUnreadable(let error): "the checkpoint does not restore: \(error)"
        case .logOutOfOrder(let sequence, let holding): "log frame at \(sequence) out of order while holding \(holding)"
        case .entryUnreadable(let sequence, let error): "entry \(sequence) does not decode: \(error)"
        case .replayLagExceeded(let limit): "replay lag passed \(limit) entries"
        case .diverged(let sequence, let detail): "diverged at sequence \(sequence): \(detail)"
        }
    }
}

/// How a backup lost its primary.
public enum PrimaryLossReason: Equatable, Sendable, CustomStringConvertible {
    /// The channel closed: end of stream, a decode error, silence past the timeout.
    case channelClosed(ChannelCloseReason)
    /// The primary handed over after this backup acked and applied entry `sequence`, its last.
    case handedOver(sequence: UInt64)

    /// One phrase for the log saying how the primary was lost.
    public var description: String {
        switch self {
        case .channelClosed(let reason): reason.description
        case .handedOver(let sequence): "the primary handed over at sequence \(sequence)"
        }
    }
}
