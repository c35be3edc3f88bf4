import Backup
import LogChannel
import Primary

/// Why a node moved from one role to another: carried by `NodeAction.roleChanged`, logged by its description.
public enum RoleChangeReason: Equatable, Sendable, CustomStringConvertible {
    /// The arbiter was unused and granted `epoch` (1) to this node: a new cluster, served from empty state.
    case newCluster(epoch: UInt64)
    /// Restarted over its data directory, which proves it holds every released reply; the arbiter granted `epoch`.
    case recovered(epoch: UInt64, through: UInt64, proof: String)
    /// Another node took `epoch` first; this node joins it.
    case epochTaken(UInt64, winner: String)
    /// A logging channel to `primary` is open and the hello sent; a checkpoint is awaited.
    case joined(primary: String)
    /// The backup received every entry whose reply left without an ack: replies wait for its acks from now on.
    case backupCaughtUp(String)
    /// The primary lost its backup and the arbiter granted it `epoch`: it serves on without protection.
    case continuingSolo(epoch: UInt64)
    /// The backup lost its primary (`loss`) and the arbiter granted it `epoch`.
    case primaryLost(PrimaryLossReason, grantedEpoch: UInt64)
    /// The backup's state is of no use; it joins the live primary afresh.
    case rejoining(RejoinReason)
    /// The primary stopped serving; withheld replies were dropped.
    case primaryStopped(StopReason)
    /// The primary handed over to `backup`, which holds every entry through `sequence`.
    case handedOver(to: String, through: UInt64)
    /// An operator asked this node to stop.
    case stopRequested

    /// A stable snake_case name for this kind of role change: what metrics count by and role-change hooks read.
    public var code: String {
        switch self {
        case .newCluster: "new_cluster"
        case .recovered: "recovered"
        case .epochTaken: "epoch_taken"
        case .joined: "joined"
        case .backupCaughtUp: "backup_caught_up"
        case .continuingSolo: "continuing_solo"
        case .primaryLost: "primary_lost"
        case .rejoining: "rejoining"
        case .primaryStopped: "primary_stopped"
        case .handedOver: "handed_over"
        case .stopRequested: "stop_requested"
        }
    }

    /// One phrase for the role-change log line.
    public var description: String {
        switch self {
        case .newCluster(let epoch): "arbiter granted epoch \(epoch) to a new cluster"
        case .recovered(let epoch, let sequence, let proof):
            "recovered every entry through \(sequence) from disk (\(proof)); arbiter granted epoch \(epoch)"
        case .epochTaken(let epoch, let winner): "epoch \(epoch) went to \(winner); joining it"
        case .joined(let primary): "joined \(primary), awaiting a checkpoint"
        case .backupCaughtUp(let name): "backup \(name) caught up"
        case .continuingSolo(let epoch): "continuing solo at epoch \(epoch)"
        case .primaryLost(let loss, let epoch): "primary lost (\(loss)), arbiter granted epoch \(epoch)"
        case .rejoining(let reason): reason.description
        case .primaryStopped(let reason): reason.description
        case .handedOver(let backup, let sequence): "handed over: \(backup) has every entry through \(sequence)"
        case .stopRequested: "stop requested"
        }
    }
}

/// Why a node's work is done and its process may leave (`NodeAction.exit`).
public enum ExitReason: Equatable, Sendable, CustomStringConvertible {
    /// A requested stop completed: a backup or a node without a role left, or a solo primary stopped.
    case stopRequested
    /// The primary stopped, for this reason, while a stop was requested.
    case primaryStopped(StopReason)
    /// A planned switchover completed: `backup` serves now.
    case handedOver(to: String, through: UInt64)
    /// The runtime stopped at once without telling the core, like kill -9 (tests only).
    case crashed

    /// One phrase for the log line printed as the process leaves.
    public var description: String {
        switch self {
        case .stopRequested: "stop requested"
        case .primaryStopped(let reason): reason.description
        case .handedOver(let backup, let sequence): "handed over: \(backup) has every entry through \(sequence)"
        case .crashed: "crashed"
        }
    }
}

/// Why a node refuses to execute commands (`NodeAction.reject`): the client may retry them elsewhere.
public enum RefusalReason: Equatable, Sendable, CustomStringConvertible {
    /// Only the primary executes commands.
    case notPrimary
    /// The durable log cannot be written (a full disk, say): nothing new could be made durable, so nothing is
    /// taken until writes succeed again.
    case persistenceFailed(String)

    /// The reason given to `ClientProtocol.rejectionReply` for the refused command.
    public var description: String {
        switch self {
        case .notPrimary: "this node is not the primary"
        case .persistenceFailed(let cause): "the durable log cannot be written: \(cause)"
        }
    }
}
