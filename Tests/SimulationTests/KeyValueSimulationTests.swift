import Testing

extension SimulationSeeds {
    /// Key-value runs (`LOCKSTEP_KEY_VALUE_SEEDS`): a run costs about as much as the token log's, and these keep the
    /// suite to seconds beside the token log's swarms; raise the count for a deeper search.
    static var keyValue: [UInt64] { seeds(default: 24, variable: "LOCKSTEP_KEY_VALUE_SEEDS") }

    /// Key-value runs on durable nodes with double crashes (`LOCKSTEP_KEY_VALUE_DURABLE_SEEDS`).
    static var durableKeyValue: [UInt64] { seeds(default: 6, variable: "LOCKSTEP_KEY_VALUE_DURABLE_SEEDS") }
}

/// The pair replicating the real key-value store, its clients sending lists, hashes, sets, counters, MULTI … EXEC
/// transactions, watched transactions, blocking pops and expiring keys, in RESP2 and RESP3, under the swarm's faults;
/// every acknowledged reply is held against a sequential model of its key, and every transaction against atomicity
/// and its watch (`KeyValueHistory+Linearizability`).
@Suite("deterministic simulation: the key-value store")
struct KeyValueSimulationTests {
    @Test(
        "without faults, every command, transaction, watch and wait is answered in both protocols, linearizably")
    func quietPair() {
        var simulation = KeyValueSimulation(seed: 1, faults: .none)
        simulation.run(until: { $0.acknowledgedRequests >= 1_000 }, deadline: .seconds(30))
        simulation.stopClients()
        simulation.run(until: { $0.backupCaughtUp }, deadline: .seconds(5))
        simulation.checkFinalState()
        let history = simulation.workload.history
        let acknowledged = history.operations.filter(\.isAcknowledged)
        let answered = Set(acknowledged.map { $0.operation.arguments[0] })
        let (transactions, violations) = (history.transactions.count, simulation.violations)
        #expect(answered == [
            "RPUSH", "LPOP", "BLPOP", "BRPOP", "LRANGE", "LLEN", "HSET", "HGET", "HGETALL", "SADD", "SCARD", "SISMEMBER",
            "SMEMBERS", "INCR", "GET", "ZINCRBY", "ZSCORE", "WATCH", "SET", "EXPIRE", "PTTL", "EXISTS",
        ])
        #expect(transactions >= 100)
        #expect(violations == [])
        // Watched EXECs both commit and abort, and DISCARDs drop their commands.
        let watched = history.watchedTransactions.filter { $0.execRespondedAt != nil }
        #expect(watched.contains { $0.isAborted } && watched.contains { !$0.isAborted })
        #expect(!history.discards.isEmpty)
        // Blocking pops both take an element and time out; expiring keys are read both live and expired.
        let pops = acknowledged.filter { if case .blockingPop = $0.operation { true } else { false } }
        #expect(pops.contains { $0.reply == .null } && pops.contains { $0.poppedToken != nil })
        let expiringReads = acknowledged.filter { KeyValueModel.expiring.contains($0.operation.key) }
        #expect(expiringReads.contains { $0.operation.arguments[0] == "GET" && $0.reply == .null })
        #expect(expiringReads.contains { $0.operation.arguments[0] == "GET" && $0.reply?.token != nil })
        // RESP3 clients read maps, sets, doubles and nulls.
        let resp3Replies = acknowledged.filter { $0.protocolVersion == 3 }.compactMap(\.reply)
        #expect(resp3Replies.contains { if case .map = $0 { true } else { false } })
        #expect(resp3Replies.contains { if case .set = $0 { true } else { false } })
        #expect(resp3Replies.contains { if case .double = $0 { true } else { false } })
        #expect(resp3Replies.contains(.null))
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
