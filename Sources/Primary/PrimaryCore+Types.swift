import LogChannel
import Replication

/// The values a primary core reports: where it stands, and the backup it is linked to.
extension PrimaryCore {
    /// Where the primary stands with respect to the output rule.
    public enum Standing: Equatable, Sendable {
        /// Owns the epoch and no backup protects it: replies leave at once.
        case solo
        /// A caught-up backup follows: replies wait for its acks.
        case protected
        /// Lost a protecting backup: withholds everything until the arbiter grants this epoch.
        case awaitingEpoch(UInt64)
        /// Stopping in favour of the backup, once it has everything.
        case handingOver
        /// Lost the arbiter race or handed over: releases nothing, ever.
        case stopped
    }

    /// The backup this primary is bringing up or protected by.
    public struct BackupLink: Equatable, Sendable {
        /// How far the backup has come: installing the checkpoint, or protecting.
        public enum Phase: Equatable, Sendable {
            /// Installing the checkpoint taken after entry `sequence`; replies still leave solo.
            case syncing(checkpointSequence: UInt64)
            /// Has every entry whose reply left without an ack; now every reply waits for it.
            case protecting
        }
        /// The logging channel to the backup.
        public var channel: ChannelID
        /// What the backup said about itself when it joined: its name and addresses.
        public var hello: Hello
        /// How far the backup has come.
        public var phase: Phase
        /// Highest entry the backup acked as received; while it protects, replies through here may leave.
        public var received: UInt64
        /// Highest entry the backup acked as replayed; `received - applied` is its replay lag.
        public var applied: UInt64
    }
}

extension PrimaryCore.BackupLink {
    /// What the link adds to the primary's status. Mutating, though it changes nothing, so that `backup?.report`
    /// reaches the link where it is stored: through a non-mutating call the link is copied, its names and addresses
    /// retained and released, after every event.
    mutating func report(into status: inout NodeStatus, checkpoint: CheckpointProgress?) {
        status.ackedSequence = received
        status.appliedSequence = applied
        status.replayLag = received - applied
        status.peerState = phase == .protecting ? .connected : .sync
        status.checkpoint = checkpoint
        status.peerClientAddress = hello.clientAddress
    }
}
