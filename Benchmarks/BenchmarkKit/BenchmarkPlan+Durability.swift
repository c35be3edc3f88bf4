/// The durability group's SET cases: a durable Lockstep pair beside a Redis pair with `appendonly yes`, per policy.
extension BenchmarkPlan {
    /// Latency at one connection, throughput at 64: the two figures the issue compares.
    public static let durabilityConnections = [1, 64]

    /// The SET case of `system` under `policy` at `connections`.
    public static func durabilityCase(_ system: ScaleResult.System, _ policy: FsyncPolicy, connections: Int)
        -> CaseDefinition
    {
        switch system {
        case .lockstep:
            CaseDefinition(
                key: "lockstep-durable-\(policy.rawValue)-set@\(connections)", group: .lockstep,
                title: "Lockstep SET, --data-dir --fsync \(policy.rawValue)", connections: connections)
        case .redis:
            CaseDefinition(
                key: "redis-aof-\(policy.rawValue)-set@\(connections)", group: .redis,
                title: "Redis SET (async replica), appendonly, appendfsync \(policy.rawValue)",
                connections: connections)
        }
    }

    /// The cases of `policy` in the order round `round` runs them: by connection count, so that the two cases of a
    /// ratio run seconds apart, with Lockstep and Redis taking turns going first from round to round.
    public func durabilityCases(_ policy: FsyncPolicy, round: Int) -> [CaseDefinition] {
        let systems: [ScaleResult.System] = round % 2 == 0 ? [.lockstep, .redis] : [.redis, .lockstep]
        return Self.durabilityConnections.flatMap { connections in
            systems.map { Self.durabilityCase($0, policy, connections: connections) }
        }
    }
}
