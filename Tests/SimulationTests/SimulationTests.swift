import Testing

/// Seeds for CI: many short runs. `LOCKSTEP_SEED=N swift test --filter SimulationTests` reruns one.
enum SimulationSeeds {
    static var continuousIntegration: [UInt64] {
        if let text = Environment.value("LOCKSTEP_SEED"), let seed = UInt64(text) { return [seed] }
        let count = Environment.value("LOCKSTEP_SEEDS").flatMap(Int.init) ?? 1_000
        return (1...UInt64(count)).map { $0 &* 0x9E37_79B9 }
    }

    /// Durable runs last longer (double crashes, recoveries): fewer of them in CI (`LOCKSTEP_DURABLE_SEEDS`).
    static var durable: [UInt64] {
        if let text = Environment.value("LOCKSTEP_SEED"), let seed = UInt64(text) { return [seed] }
        let count = Environment.value("LOCKSTEP_DURABLE_SEEDS").flatMap(Int.init) ?? 150
        return (1...UInt64(count)).map { $0 &* 0x9E37_79B9 }
    }
}

enum Environment {
    static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }
}

#if canImport(Glibc)
import Glibc
#endif

@Suite("deterministic simulation")
struct SimulationTests {
    @Test("without faults, the first node serves, the second protects it, and acked writes are all there")
    func quietPair() {
        var simulation = Simulation(seed: 1, faults: .none)
        simulation.run(until: { $0.acked.count >= 500 }, deadline: .seconds(30))
        let isProtected = simulation.isProtected
        #expect(isProtected)
        simulation.stopClients()
        simulation.run(until: { $0.backupCaughtUp }, deadline: .seconds(5))
        simulation.checkFinalState()
        let (acked, violations) = (simulation.acked.count, simulation.violations)
        #expect(acked >= 500)
        #expect(violations == [])
    }

    @Test("the same seed gives the same trace")
    func reproducible() {
        var firstRandom = Self.seedRandom(42), secondRandom = Self.seedRandom(42)
        var first = Simulation(seed: 42, faults: .swarm(&firstRandom))
        var second = Simulation(seed: 42, faults: .swarm(&secondRandom))
        first.run(until: { _ in false }, deadline: .seconds(3))
        second.run(until: { _ in false }, deadline: .seconds(3))
        let (firstTrace, secondTrace) = (first.trace, second.trace)
        #expect(firstTrace == secondTrace)
        #expect(first.acked.count == second.acked.count)
    }

    @Test("acked writes survive faults and epochs never overlap", arguments: SimulationSeeds.continuousIntegration)
    func swarm(seed: UInt64) {
        var random = Self.seedRandom(seed)
        Self.runSwarm(seed: seed, faults: .swarm(&random))
    }

    @Test(
        "durable nodes: acked writes survive double crashes at any point, full and slow disks, and the pair comes back",
        arguments: SimulationSeeds.durable)
    func durableSwarm(seed: UInt64) {
        var random = Self.seedRandom(seed ^ 0xD15C)
        Self.runSwarm(seed: seed, faults: .durableSwarm(&random))
    }

    static func runSwarm(seed: UInt64, faults: FaultMix) {
        var simulation = Simulation(seed: seed, faults: faults)
        simulation.run(until: { _ in false }, deadline: .seconds(4))
        simulation.healAll()
        let ackedBeforeHealing = simulation.acked.count
        // A run that lost the state (both holders died) can never be protected again: nothing is left to wait for.
        simulation.run(
            until: { $0.stateLost || $0.isProtected && $0.acked.count >= ackedBeforeHealing + 50 }, deadline: .seconds(30))
        if !simulation.stateLost {
            let isProtected = simulation.isProtected
            #expect(isProtected, "no protected primary after healing; replay with LOCKSTEP_SEED=\(seed), \(simulation.faults)")
            simulation.stopClients()
            simulation.run(until: { $0.backupCaughtUp }, deadline: .seconds(10))
            simulation.checkFinalState()
        } else {
            simulation.checkHistoryWithoutFinalState()
        }
        let violations = simulation.violations
        #expect(violations == [], "replay with LOCKSTEP_SEED=\(seed), faults \(simulation.faults)")
    }

    static func seedRandom(_ seed: UInt64) -> SeededRandom { SeededRandom(seed: seed ^ 0x5EED) }
}
