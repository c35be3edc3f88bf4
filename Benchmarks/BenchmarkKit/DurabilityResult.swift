/// What the durability group measured besides its SET cases (those are in the report's rounds, under the keys
/// `BenchmarkPlan.durabilityCase` gives): where the data lived, and the restart after every process was killed.
public struct DurabilityResult: Sendable {
    /// The policies whose SET cases ran, in order.
    public var policies: [FsyncPolicy]
    /// The file system type under the temporary directories (`ext4`, `tmpfs`, ...): on tmpfs an fsync costs nothing,
    /// so the figures of `always` would say nothing about a disk.
    public var fileSystem: String?
    /// The restart after kill -9 of every process: Lockstep, then Redis (either missing if it could not run).
    public var comeback: [ComebackResult] = []

    public init(policies: [FsyncPolicy], fileSystem: String?) {
        self.policies = policies
        self.fileSystem = fileSystem
    }
}

/// One system's run of "load keys, kill -9 every process, restart them over the same files, wait for a write".
public struct ComebackResult: Sendable {
    public var system: ScaleResult.System
    /// Keys loaded before the kill.
    public var keys: Int
    /// The `--fsync` / `appendfsync` policy both ran with.
    public var policy: FsyncPolicy
    /// From the first SET of the load to the last acknowledged; nil if the load did not finish.
    public var loadNanoseconds: UInt64?
    /// Bytes in the data directories (both nodes' for Lockstep, the server's for Redis) just after the kill.
    public var diskBytesAtKill: UInt64?
    /// From the restart of the first process to the first SET acknowledged with `+OK`; nil if none before the
    /// deadline.
    public var comebackNanoseconds: UInt64?
    /// Lockstep only: from the restart to a primary with a caught-up backup again.
    public var protectedNanoseconds: UInt64?
    /// `DBSIZE` on the server that took the write: every loaded key should be back (the probe rewrites `key:0`).
    public var keysAfter: Int?
    /// What went wrong, if anything.
    public var problem: String?

    public init(system: ScaleResult.System, keys: Int, policy: FsyncPolicy) {
        self.system = system
        self.keys = keys
        self.policy = policy
    }

    /// Whether every figure the comparison needs was measured and every key came back.
    public var isComplete: Bool { problem == nil && comebackNanoseconds != nil && keysAfter == keys }
}
