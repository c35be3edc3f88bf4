/// What a node reports about itself: the answer to `ROLE`, `INFO replication` and `lockstep status`.
///
/// Filled by the node runtime from its core; rendered by the application (e.g. in Redis's formats).
public struct NodeStatus: Equatable, Sendable {
    /// The node's part in replication; the raw value is the word `status` and `INFO` print.
    public enum Role: String, Sendable, CaseIterable {
        /// Serving clients with a backup: every reply waits for its ack (or, once it is lost, for the arbiter).
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
    public enum PeerState: String, Sendable, CaseIterable {
        /// `none`: no peer to report (a primary without a backup, a stopped node). `connect`: about to look for a
        /// primary. `connecting`: dialing the primary. `sync`: linked, with the checkpoint still in progress, so the
        /// backup does not protect yet. `connected`: the backup protects the primary, and replies wait for its acks.
        case none, connect, connecting, sync, connected
    }

    /// The node's part in replication.
    public var role: Role
    /// The node's configured name.
    public var nodeName: String
    /// The epoch the node serves or follows in; 0 before it knows one.
    public var epoch: UInt64
    /// Highest entry appended (primary) or received (backup).
    public var logSequence: UInt64
    /// Highest entry the backup has acked as received.
    public var ackedSequence: UInt64
    /// Highest entry replayed into the state machine on the reporting node's peer (primary) or itself (backup).
    public var appliedSequence: UInt64
    /// How far the backup has come with its primary, seen from whichever side reports.
    public var peerState: PeerState
    /// The other node's client address ("host:port"): the primary's when we are a backup, the
    /// backup's when we are the primary; empty when unknown.
    public var peerClientAddress: String
    /// This node's own client address.
    public var clientAddress: String
    /// Entries received but not yet replayed by the backup.
    public var replayLag: UInt64
    /// Entries the primary has logged and the backup not yet acked (what a failover may replay); 0 elsewhere.
    public var unackedEntries: Int = 0
    /// The payload bytes of those entries, bounded by `PrimaryLimits.unackedBytesLimit`; 0 elsewhere.
    public var unackedBytes: Int = 0
    /// Why the node is where it is, in words (the last role transition's reason).
    public var reason: String
    /// The checkpoint transfer in progress with the peer, seen from whichever side reports; nil when none is.
    public var checkpoint: CheckpointProgress?
    /// Running totals the runtime keeps (e.g. entries and writes on the logging channel), for
    /// `INFO` and the benchmark; names are snake_case, rendered sorted.
    public var counters: [String: UInt64] {
        get { countersSource.figures }
        set { countersSource = LazyFigures(newValue) }
    }
    private var countersSource = LazyFigures([:])
    /// The last entry this node's durable log holds; nil when it keeps none.
    public var persistedSequence: UInt64?
    /// Why the durable log cannot be written now (a full disk, say); empty when it can. A serving primary refuses
    /// data commands meanwhile.
    public var persistenceFailure = ""
    /// Client connections open on this node now (Redis's `connected_clients`); 0 where the runtime does not count.
    public var openClientConnections: Int = 0
    /// The state machine's `statistics` (e.g. key counts for INFO's keyspace); empty when the node holds no state.
    public var machineStatistics: [String: UInt64] {
        get { machineStatisticsSource.figures }
        set { machineStatisticsSource = LazyFigures(newValue) }
    }
    private var machineStatisticsSource = LazyFigures([:])

    /// Has `counters` and `machineStatistics` computed when first read, by the thread that reads them. A node
    /// routes every request by a status and few requests read these, while building them costs as much as a dozen
    /// requests. Only for a status that stays on the thread that can run the closures: a status for another thread
    /// has its figures set to values first.
    public mutating func computeFigures(
        counters: @escaping () -> [String: UInt64], machineStatistics: @escaping () -> [String: UInt64]
    ) {
        countersSource = LazyFigures(computing: counters)
        machineStatisticsSource = LazyFigures(computing: machineStatistics)
    }

    /// A status with `role` and `nodeName`, and zero, `.none` or empty for everything not given.
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

/// Named figures given, or computed once when first read (`NodeStatus.computeFigures`). Equal when their figures
/// are.
private final class LazyFigures: Equatable, @unchecked Sendable {
    private var compute: (() -> [String: UInt64])?
    private var computed: [String: UInt64]

    init(_ figures: [String: UInt64]) {
        computed = figures
    }

    init(computing compute: @escaping () -> [String: UInt64]) {
        self.compute = compute
        computed = [:]
    }

    var figures: [String: UInt64] {
        if let compute {
            computed = compute()
            self.compute = nil
        }
        return computed
    }

    static func == (left: LazyFigures, right: LazyFigures) -> Bool { left.figures == right.figures }
}
