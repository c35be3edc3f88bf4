/// What a run measures and for how long: the `--quick` and full profiles, trimmed by `--only` and `--rounds`.
public struct BenchmarkPlan: Sendable {
    /// What `--only` can select.
    public enum Part: String, Sendable, CaseIterable {
        case floors, lockstep, redis, sessions, failover, backpressure, scale, durability
        case redisBenchmark = "redis-benchmark"
    }

    public var name: String
    public var rounds: Int
    public var warmupNanoseconds: UInt64
    public var caseDurationNanoseconds: UInt64
    /// Every load also stops after this many measured operations.
    public var operationLimit: UInt64
    public var valueBytes = 32
    /// Keys cycled through by SET and GET; GET cases read keys written before the rounds start.
    public var keyspace: Int
    public var floorConnections: [Int]
    public var setConnections: [Int]
    public var getConnections: [Int]
    /// Pipelined SET case: connections and depth; nil to skip.
    public var pipelined: (connections: Int, depth: Int)?
    public var redisSetConnections: [Int]
    public var redisWaitConnections: [Int]
    /// `WAIT 1 <ms>` timeout: long enough that a healthy replica always answers 1.
    public var redisWaitTimeoutMilliseconds = 1_000
    public var failoverCycles: Int
    /// How long the backup stays stopped in the backpressure run.
    public var backpressureStopNanoseconds: UInt64
    /// The backpressure pair's `--unacked-bytes` and `--unacked-entries`. Half a MiB holds about 8,000 SETs' entries,
    /// so the log fills before the 16 × 1,024 replies the clients may have pending (`BackpressureBenchmark`); with
    /// 8 MiB the per-connection bound held the clients back first, and the core never paused. The entries limit is
    /// high enough that the byte limit binds first, which is the one the memory bound is about.
    public var backpressureUnackedBytesLimit: UInt64 = 512 << 10
    public var backpressureUnackedEntriesLimit: UInt64 = 1_000_000
    public var parts: Set<Part> = Set(Part.allCases)
    /// Connection counts at which the sessions group runs `SESSION EXEC` SET beside plain SET, one request in
    /// flight per connection.
    public var sessionConnections = [1, 64]
    /// Requests in flight on one connection for the sessions group's pipelined cases and the client library's
    /// tasks; nil skips them. 64 is the server's default `--session-window` and the library's default window.
    public var sessionRequestsInFlight: Int? = 64
    /// Key counts the scale run loads, each into a fresh pair and a fresh Redis; empty skips it.
    public var scaleKeyCounts: [Int] = []
    /// The durability group's policies, each measured on a fresh durable pair beside a fresh Redis with appendonly.
    public var durabilityPolicies: [FsyncPolicy] = FsyncPolicy.allCases
    /// Keys loaded before the durability group kills every process and times the restart.
    public var comebackKeys = 1_000_000
    /// The redis-benchmark group's `-n` (requests per test of its default list) and `-c`.
    public var redisBenchmarkRequests = 100_000
    public var redisBenchmarkClients = 50

    /// The full profile: 3 interleaved rounds of 2-second cases, 10 failovers; about 5 minutes.
    public static let full = BenchmarkPlan(
        name: "full", rounds: 3, warmupNanoseconds: 300_000_000, caseDurationNanoseconds: 2_000_000_000,
        operationLimit: 2_000_000, keyspace: 10_000, floorConnections: [1, 64], setConnections: [1, 4, 16, 64],
        getConnections: [1, 4, 16, 64], pipelined: (16, 16), redisSetConnections: [1, 4, 16, 64],
        redisWaitConnections: [1, 4, 16, 64], failoverCycles: 10, backpressureStopNanoseconds: 3_000_000_000,
        scaleKeyCounts: [1_000_000, 10_000_000])

    /// The `--quick` profile: one round of short cases, the ratios' cases only, 3 failovers; under a minute. Of the
    /// durability group only `always` (the policy that syncs on the request path) and a restart over a few thousand
    /// keys, which keep it to a few seconds.
    public static let quick: BenchmarkPlan = {
        var plan = BenchmarkPlan(
            name: "quick", rounds: 1, warmupNanoseconds: 100_000_000, caseDurationNanoseconds: 500_000_000,
            operationLimit: 500_000, keyspace: 2_000, floorConnections: [1, 64], setConnections: [1, 64],
            getConnections: [16], pipelined: (16, 16), redisSetConnections: [64], redisWaitConnections: [1, 64],
            failoverCycles: 3, backpressureStopNanoseconds: 2_000_000_000)
        plan.durabilityPolicies = [.always]
        plan.comebackKeys = 2_000
        plan.redisBenchmarkRequests = 2_000
        return plan
    }()

    /// The cases of one group, in the order a round runs them.
    public func cases(in group: CaseGroup) -> [CaseDefinition] {
        switch group {
        case .floors:
            return floorConnections.map {
                CaseDefinition(key: "floor-1hop@\($0)", group: .floors, title: "1-hop ping-pong floor", connections: $0)
            }
                + floorConnections.map {
                    CaseDefinition(key: "floor-2hop@\($0)", group: .floors, title: "2-hop relay floor", connections: $0)
                }
                + floorConnections.map {
                    CaseDefinition(
                        key: "floor-2hop-poll@\($0)", group: .floors, title: "2-hop relay floor, polling like a node",
                        connections: $0)
                }
        case .lockstep:
            var cases = setConnections.map {
                CaseDefinition(key: "lockstep-set@\($0)", group: .lockstep, title: "Lockstep SET", connections: $0)
            }
            cases += getConnections.map {
                CaseDefinition(key: "lockstep-get@\($0)", group: .lockstep, title: "Lockstep GET", connections: $0)
            }
            if let pipelined {
                for command in ["SET", "GET"] {
                    cases.append(
                        CaseDefinition(
                            key: "lockstep-\(command.lowercased())-pipelined@\(pipelined.connections)", group: .lockstep,
                            title: "Lockstep \(command)", connections: pipelined.connections,
                            pipelineDepth: pipelined.depth))
                }
            }
            return cases
        case .redis:
            var cases = redisSetConnections.map {
                CaseDefinition(
                    key: "redis-set@\($0)", group: .redis, title: "Redis SET (async replica)", connections: $0)
            }
            cases += redisWaitConnections.map {
                CaseDefinition(key: "redis-setwait@\($0)", group: .redis, title: "Redis SET+WAIT 1", connections: $0)
            }
            if let pipelined {
                for command in ["SET", "GET"] {
                    cases.append(
                        CaseDefinition(
                            key: "redis-\(command.lowercased())-pipelined@\(pipelined.connections)", group: .redis,
                            title: "Redis \(command) (async replica)", connections: pipelined.connections,
                            pipelineDepth: pipelined.depth))
                }
            }
            return cases
        case .sessions:
            return sessionCases
        }
    }

    /// The cases of one round, in the order it runs them: by connection count, so that a ratio's two cases run a
    /// few seconds apart instead of a whole group apart, on a machine whose speed drifts within minutes. At each
    /// connection count the groups take turns going first, round after round.
    public func roundOrder(of groups: [CaseGroup], round: Int) -> [CaseDefinition] {
        let rotated = groups.indices.map { groups[($0 + round) % groups.count] }
        let cases = rotated.flatMap(cases(in:))
        return Set(cases.map(\.connections)).sorted().flatMap { count in cases.filter { $0.connections == count } }
    }

    /// Every case the plan would run with all parts selected.
    public var allCases: [CaseDefinition] { CaseGroup.allCases.flatMap(cases(in:)) }

    /// The workload of a case.
    public func workload(for definition: CaseDefinition) -> Workload {
        switch definition.group {
        case .floors:
            return .echo(messageBytes: valueBytes)
        case .lockstep:
            return definition.key.hasPrefix("lockstep-get")
                ? .get(keyspace: keyspace) : .set(keyspace: keyspace, valueBytes: valueBytes)
        case .sessions:
            return Self.isSessionRequestCase(definition)
                ? .sessionSet(keyspace: keyspace, valueBytes: valueBytes)
                : .set(keyspace: keyspace, valueBytes: valueBytes)
        case .redis:
            if definition.key.hasPrefix("redis-get") { return .get(keyspace: keyspace) }
            guard definition.key.hasPrefix("redis-setwait") else {
                return .set(keyspace: keyspace, valueBytes: valueBytes)
            }
            return .setThenWait(
                keyspace: keyspace, valueBytes: valueBytes, timeoutMilliseconds: redisWaitTimeoutMilliseconds)
        }
    }

    /// A one-line description for the report.
    public var summary: String {
        let seconds = Format.plain(Double(caseDurationNanoseconds) / 1e9)
        return "profile \(name): \(rounds) round\(rounds == 1 ? "" : "s"), \(seconds) s per case "
            + "(or \(operationLimit) ops), \(valueBytes)-byte values, \(keyspace) keys"
    }
}
