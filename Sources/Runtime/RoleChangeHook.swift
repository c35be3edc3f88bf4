import Replication

/// A command run on every role change, as keepalived runs its notify scripts: to move a cloud provider's address,
/// repoint a load balancer, or page someone.
///
/// The command runs as `/bin/sh -c COMMAND`, one run at a time and in the order the changes happened, with the
/// node's environment plus `LOCKSTEP_ROLE`, `LOCKSTEP_PREVIOUS_ROLE`, `LOCKSTEP_EPOCH`, `LOCKSTEP_REASON` (the
/// stable `RoleChangeReason.code`) and `LOCKSTEP_NODE`. Its standard output and error are logged line by line; a
/// run still going after `timeout` is killed with its whole process group. It runs on a helper thread, never on
/// the event loop, and the node never waits for it: the role change has happened, and the hook only reports it.
public struct RoleChangeHook: Equatable, Sendable {
    /// `timeout` unless configured otherwise.
    public static let defaultTimeout: Duration = .seconds(10)
    /// The longest time limit accepted: a hook is a notification, not a job.
    public static let timeoutLimit: Duration = .seconds(600)
    /// Runs waiting behind the one in progress; past it the oldest waiting run is dropped (`RoleChangeHookRunner`).
    public static let pendingRunsLimit = 16
    /// Output lines logged per run; the rest are counted.
    public static let outputLinesLimit = 200
    /// Bytes of one logged output line; a longer line is cut.
    public static let outputLineBytesLimit = 1_000

    /// The shell command.
    public var command: String
    /// How long one run may take before it is killed.
    public var timeout: Duration

    /// A hook running `command` with the time limit `timeout`.
    public init(command: String, timeout: Duration = Self.defaultTimeout) {
        self.command = command
        self.timeout = timeout
    }
}

/// One role change as the hook hears of it.
public struct RoleChangeNotice: Equatable, Sendable, CustomStringConvertible {
    /// The role before the change.
    public var previousRole: NodeStatus.Role
    /// The role after it.
    public var role: NodeStatus.Role
    /// The epoch the node is in after the change.
    public var epoch: UInt64
    /// `RoleChangeReason.code`, e.g. `primary_lost`.
    public var reason: String
    /// The node's name.
    public var node: String

    /// A notice of `previousRole` -> `role` at `epoch` for `reason` on `node`.
    public init(previousRole: NodeStatus.Role, role: NodeStatus.Role, epoch: UInt64, reason: String, node: String) {
        self.previousRole = previousRole
        self.role = role
        self.epoch = epoch
        self.reason = reason
        self.node = node
    }

    /// The variables the hook's environment gets, `NAME=value` each.
    public var environment: [String] {
        [
            "LOCKSTEP_ROLE=\(role.rawValue)", "LOCKSTEP_PREVIOUS_ROLE=\(previousRole.rawValue)",
            "LOCKSTEP_EPOCH=\(epoch)", "LOCKSTEP_REASON=\(reason)", "LOCKSTEP_NODE=\(node)",
        ]
    }

    /// `backup -> primary at epoch 4 (primary_lost)`.
    public var description: String { "\(previousRole.rawValue) -> \(role.rawValue) at epoch \(epoch) (\(reason))" }
}
