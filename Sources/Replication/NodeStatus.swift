/// What a node reports about itself: the answer to `ROLE`, `INFO replication` and `lockstep status`.
///
/// Filled by the node runtime from its core; rendered by the application (e.g. in Redis's formats).
public struct NodeStatus: Equatable, Sendable {
    public enum Role: String, Sendable {
        /// Serving clients with a protecting backup: every reply waits for its ack.
        case primary
        /// Serving clients without a backup, having taken the epoch at the arbiter.
        case solo
        /// Following a primary: receiving, acking and replaying its log.
        case backup
        /// Without the replicated state: looking for a live primary to join.
        case joining
        /// Given up, e.g. lost the arbiter race as primary or diverged; serves nothing.
        case stopped
    }

    /// How far a backup has come with its primary (Redis's `connect`/`connecting`/`sync`/`connected`).
    public enum PeerState: String, Sendable {
        case none, connect, connecting, sync, connected
    }

    public var role: Role
    public var nodeName: String
    public var epoch: UInt64
    /// Highest entry appended (primary) or received (backup).
    public var logSequence: UInt64
    /// Highest entry the backup has acked as received.
    public var ackedSequence: UInt64
    /// Highest entry replayed into the state machine on the reporting node's peer (primary) or itself (backup).
    public var appliedSequence: UInt64
    public var peerState: PeerState
    /// The other node's client address ("host:port"): the primary's when we are a backup, the
    /// backup's when we are the primary; empty when unknown.
    public var peerClientAddress: String
    /// This node's own client address.
    public var clientAddress: String
    /// Entries received but not yet replayed by the backup.
    public var replayLag: UInt64
    /// Why the node is where it is, in words (the last role transition's reason).
    public var reason: String
    /// Running totals the runtime keeps (e.g. entries and writes on the logging channel), for
    /// `INFO` and the benchmark; names are snake_case, rendered sorted.
    public var counters: [String: UInt64] = [:]

    public init(
        role: Role, nodeName: String, epoch: UInt64 = 0, logSequence: UInt64 = 0, ackedSequence: UInt64 = 0,
        appliedSequence: UInt64 = 0, peerState: PeerState = .none, peerClientAddress: String = "",
        clientAddress: String = "", replayLag: UInt64 = 0, reason: String = ""
    ) {
        self.role = role
        self.nodeName = nodeName
        self.epoch = epoch
        self.logSequence = logSequence
        self.ackedSequence = ackedSequence
        self.appliedSequence = appliedSequence
        self.peerState = peerState
        self.peerClientAddress = peerClientAddress
        self.clientAddress = clientAddress
        self.replayLag = replayLag
        self.reason = reason
    }

    /// Whether client data commands are served here.
    public var isServing: Bool { role == .primary || role == .solo }
}
