import Testing

extension SimulationSeeds {
    /// Key-value runs (`LOCKSTEP_KEY_VALUE_SEEDS`): a run costs about as much as the token log's, and these keep the
    /// suite to seconds beside the token log's swarms; raise the count for a deeper search.
    static var keyValue: [UInt64] { seeds(default: 24, variable: "LOCKSTEP_KEY_VALUE_SEEDS") }

    /// Key-value runs on durable nodes with double crashes (`LOCKSTEP_KEY_VALUE_DURABLE_SEEDS`).
    static var durableKeyValue: [UInt64] { seeds(default: 6, variable: "LOCKSTEP_KEY_VALUE_DURABLE_SEEDS") }
}

/// The pair replicating the real key-value store, its clients sending lists, hashes, sets, counters and MULTI … EXEC
/// transactions under the swarm's faults; every acknowledged reply is held against a sequential model of its key, and
/// every transaction against atomicity (`KeyValueHistory+Linearizability`).
@Suite("deterministic simulation: the key-value store")
struct KeyValueSimulationTests {
    @Test(
        "without faults, every command type and transaction is answered, linearizably, and the backup's digest agrees")
    func quietPair() {
        var simulation = KeyValueSimulation(seed: 1, faults: .none)
        simulation.run(until: { $0.acknowledgedRequests >= 1_000 }, deadline: .seconds(30))
        simulation.stopClients()
        simulation.run(until: { $0.backupCaughtUp }, deadline: .seconds(5))
        simulation.checkFinalState()
        let history = simulation.workload.history
        let answered = Set(history.operations.filter(\.isAcknowledged).map { $0.operation.arguments[0] })
        let (transactions, violations) = (history.transactions.count, simulation.violations)
        #expect(answered == [
            "RPUSH", "LPOP", "LRANGE", "LLEN", "HSET", "HGET", "HGETALL", "SADD", "SCARD", "SISMEMBER", "INCR", "GET",
        ])
        #expect(transactions >= 100)
        #expect(violations == [])
    }

    @Test("the same seed gives the same trace")
    func reproducible() {
        var firstRandom = SimulationTests.seedRandom(42), secondRandom = SimulationTests.seedRandom(42)
        var first = KeyValueSimulation(seed: 42, faults: .swarm(&firstRandom))
        var second = KeyValueSimulation(seed: 42, faults: .swarm(&secondRandom))
        first.run(until: { _ in false }, deadline: .seconds(2))
        second.run(until: { _ in false }, deadline: .seconds(2))
        let (firstTrace, secondTrace) = (first.trace, second.trace)
        #expect(firstTrace == secondTrace)
        #expect(first.acknowledgedRequests == second.acknowledgedRequests)
    }

    @Test("replies of every type and transaction stay linearizable across faults", arguments: SimulationSeeds.keyValue)
    func swarm(seed: UInt64) {
        var random = SimulationTests.seedRandom(seed ^ 0x4B56)
        Self.run(seed: seed, faults: .swarm(&random))
    }

    @Test(
        "durable nodes: replies stay linearizable across double crashes and full and slow disks",
        arguments: SimulationSeeds.durableKeyValue)
    func durableSwarm(seed: UInt64) {
        var random = SimulationTests.seedRandom(seed ^ 0xD15C_4B56)
        Self.run(seed: seed, faults: .durableSwarm(&random))
    }

    /// A run as the token log's swarm runs it, with faults for 3 s of virtual time rather than 4 (the store costs
    /// more per command): faults, then healing and progress, then the final state checked once the backup caught up.
    static func run(seed: UInt64, faults: FaultMix) {
        var simulation = KeyValueSimulation(seed: seed, faults: faults)
        simulation.run(until: { _ in false }, deadline: .seconds(3))
        simulation.healAll()
        let answeredBeforeHealing = simulation.acknowledgedRequests
        simulation.run(
            until: { $0.stateLost || $0.isProtected && $0.acknowledgedRequests >= answeredBeforeHealing + 50 },
            deadline: .seconds(30))
        if !simulation.stateLost {
            let isProtected = simulation.isProtected
            #expect(isProtected, "no protected primary after healing; replay with LOCKSTEP_SEED=\(seed), \(faults)")
            simulation.stopClients()
            simulation.run(until: { $0.backupCaughtUp }, deadline: .seconds(10))
            simulation.checkFinalState()
        } else {
            simulation.checkHistoryWithoutFinalState()
        }
        let violations = simulation.violations
        #expect(violations == [], "replay with LOCKSTEP_SEED=\(seed), faults \(faults)")
    }
}
