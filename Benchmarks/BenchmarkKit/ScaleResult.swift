/// What the scale run measured for one system at one size: the load, the restart of the backup (or replica), and
/// the memory of every process.
public struct ScaleResult: Sendable {
    /// The system measured.
    public enum System: String, Sendable {
        case lockstep, redis
    }

    public var system: System
    /// Keys loaded (32-byte values unless the plan says otherwise).
    public var keys: Int
    /// From the first SET sent to the last acknowledged; nil if the load did not finish.
    public var loadNanoseconds: UInt64?
    /// Lockstep only: whether the same primary stayed protected, in the same epoch, through the whole load.
    public var stayedProtected: Bool?
    /// Resident memory after the load, by process (`primary`, `backup` / `replica`).
    public var residentBytesAfterLoad: [String: UInt64] = [:]
    /// From the kill -9 of the backup (replica) to it protecting again (`lockstep_peer_state:connected` on the
    /// restarted backup; `master_link_status:up` on the restarted replica); nil if not before the deadline.
    public var reprotectNanoseconds: UInt64?
    /// The 1 ms probe's latencies on the primary from the kill until protected again.
    public var probe: LatencyHistogram?
    /// Probe requests that failed or got an error reply meanwhile.
    public var probeErrors = 0
    /// Resident memory once protected again, by process.
    public var residentBytesAfterReprotect: [String: UInt64] = [:]
    /// What went wrong, if anything.
    public var problem: String?

    public init(system: System, keys: Int) {
        self.system = system
        self.keys = keys
    }

    /// The name of the process that follows the primary.
    public var followerName: String { system == .lockstep ? "backup" : "replica" }
}
