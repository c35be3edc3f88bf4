import Replication
import Testing

extension SimulationSeeds {
    /// Session runs beside the plain swarm: fewer in CI (`LOCKSTEP_SESSION_SEEDS`).
    static var sessions: [UInt64] { seeds(default: 100, variable: "LOCKSTEP_SESSION_SEEDS") }

    /// Session runs on durable nodes with double crashes (`LOCKSTEP_SESSION_DURABLE_SEEDS`).
    static var durableSessions: [UInt64] { seeds(default: 40, variable: "LOCKSTEP_SESSION_DURABLE_SEEDS") }

    static func seeds(default count: Int, variable: String) -> [UInt64] {
        if let text = Environment.value("LOCKSTEP_SEED"), let seed = UInt64(text) { return [seed] }
        let count = Environment.value(variable).flatMap(Int.init) ?? count
        return (1...UInt64(count)).map { $0 &* 0x9E37_79B9 }
    }
}

/// Clients in sessions resend every unacknowledged append with its number across crashes, partitions, refusals,
/// timeouts and dropped connections; the session table must apply each exactly once (issue 19).
@Suite("deterministic simulation: exactly-once sessions")
struct SessionSimulationTests {
    @Test("session appends resent across crashes and partitions are applied exactly once", arguments: SimulationSeeds.sessions)
    func sessionSwarm(seed: UInt64) {
        var random = SimulationTests.seedRandom(seed ^ 0x5E55)
        let simulation = Self.run(seed: seed, faults: Self.sessionMix(.swarm(&random)))
        Self.expectExactlyOnce(simulation)
    }

    @Test(
        "session appends resent across double crashes of durable nodes are applied exactly once",
        arguments: SimulationSeeds.durableSessions)
    func durableSessionSwarm(seed: UInt64) {
        var random = SimulationTests.seedRandom(seed ^ 0xD15C_5E55)
        let simulation = Self.run(seed: seed, faults: Self.sessionMix(.durableSwarm(&random)))
        Self.expectExactlyOnce(simulation)
    }

    @Test(
        "a primary paused past the silence limit releases nothing in its old epoch once the new one has released",
        .bug(id: "19"))
    func pausedPrimaryStaysSilent() {
        // The paused primary handles, on resuming, an ack that arrived while it was stopped before it judges its own
        // silence, and releases that ack's replies in its old epoch after the backup went live and released in the
        // next. The replies are of entries the backup held, so no acked write is lost, but the release checker (and
        // the SIGSTOP rule of the kill tests) forbids it. Plain clients never show it: they wait for a paused node,
        // so the new primary has nothing to release meanwhile; session clients time out and go to it.
        withKnownIssue("a resumed primary releases in its superseded epoch (PrimaryCore, not the session table)") {
            let simulation = Self.run(seed: 7, faults: FaultMix(pauseNode: true))
            let violations = simulation.violations
            #expect(violations == [])
        }
    }

    @Test("resends reach the table: a crashed primary's and a dropped connection's requests are answered from it")
    func resendsAreAnsweredFromTheTable() {
        let faults = FaultMix(crashPrimary: true, partition: true, arbiterOutage: true)
        let simulation = Self.run(seed: 1, faults: faults)
        Self.expectExactlyOnce(simulation)
        let primary = simulation.nodes.indices.first { simulation.nodes[$0].core.status.isServing }
        let repeats = primary.flatMap { simulation.nodes[$0].core.machine?.sessionRepeats } ?? 0
        #expect(simulation.sessionResends > 0)
        #expect(simulation.sessionTimeouts > 0)
        #expect(repeats > 0, "no resend was answered from the session table")
    }

    @Test("sessions that expire while idle leave their requests' outcome unknown, and those apply at most once")
    func expiredSessionsLeaveOutcomesUnknown() {
        var limits = Simulation.sessionLimits
        limits.idleTimeoutMilliseconds = 3   // of recorded time, which advances under a millisecond per read
        let faults = FaultMix(crashPrimary: true, partition: true)
        let simulation = Self.run(seed: 7, faults: faults, sessionLimits: limits)
        let (unknown, violations) = (simulation.sessionOutcomesUnknown.count, simulation.violations)
        #expect(unknown > 0)
        #expect(violations == [])
    }

    @Test("the token log's encoding carries its sessions, and a restored log answers a resend from them")
    func encodingCarriesSessions() throws {
        var log = TokenLog()
        var context = ApplyContext.recording(from: SimulatedEntropy(random: SeededRandom(seed: 3)))
        let opened = TokenLog.Answer(decoding: log.apply(TokenLog.Command.openSession(Simulation.sessionLimits).encoded, context: &context))
        guard case .opened(let session)? = opened else {
            Issue.record("open answered \(String(describing: opened))")
            return
        }
        let append = TokenLog.Command.sessionAppend(key: 1, session: session, number: 1, token: 77).encoded
        let first = log.apply(append, context: &context)
        var restored = TokenLog()
        try restored.restore(from: log.encoded())
        #expect(restored == log)
        #expect(restored.digest() == log.digest())
        #expect(restored.apply(append, context: &context) == first)
        #expect(restored.tokens == [77])
        #expect(restored.sessionRepeats == 1)
    }

    /// A swarm's mix without paused processes, which expose a release in a superseded epoch (`pausedPrimaryStaysSilent`),
    /// and without the small limits that pause intake, whose backlog the simulation hands over behind later arrivals
    /// (`Simulation.resumeIntake`), which session numbers would see as gaps; refusals, partitions, arbiter outages and
    /// crashes still make clients time out and resend.
    static func sessionMix(_ faults: FaultMix) -> FaultMix {
        var faults = faults
        faults.pauseNode = false
        faults.smallLimits = false
        return faults
    }

    /// A run as the swarm runs it, with session clients beside a plain one (whose reads the linearizability checker
    /// holds against the session appends); after healing, the session clients stop sending new requests and resend
    /// until every one is acknowledged, then the final state is checked. Faults last 3 s of virtual time, not the
    /// plain swarm's 4, to keep the suite's time small.
    static func run(seed: UInt64, faults: FaultMix, sessionLimits: SessionLimits = Simulation.sessionLimits) -> Simulation {
        var simulation = Simulation(
            seed: seed, faults: faults, clientCount: 1, sessionClientCount: 3, sessionLimits: sessionLimits)
        simulation.run(until: { _ in false }, deadline: .seconds(3))
        simulation.healAll()
        let ackedBeforeHealing = simulation.acked.count
        simulation.run(
            until: { $0.stateLost || $0.isProtected && $0.acked.count >= ackedBeforeHealing + 50 }, deadline: .seconds(30))
        guard !simulation.stateLost else {
            simulation.checkHistoryWithoutFinalState()
            return simulation
        }
        let isProtected = simulation.isProtected
        #expect(isProtected, "no protected primary after healing; replay with LOCKSTEP_SEED=\(seed), \(faults)")
        simulation.drainSessionClients()
        simulation.run(until: { $0.sessionClientsDrained }, deadline: .seconds(30))
        simulation.checkSessionRequestsSettled()
        simulation.stopClients()
        simulation.run(until: { $0.backupCaughtUp }, deadline: .seconds(10))
        simulation.checkFinalState()
        return simulation
    }

    /// No violation, and no request whose outcome a client could not learn: with the default limits, no session
    /// expires or loses a reply a resend needs.
    static func expectExactlyOnce(_ simulation: Simulation) {
        let (violations, unknown) = (simulation.violations, simulation.sessionOutcomesUnknown)
        #expect(violations == [], "replay with LOCKSTEP_SEED=\(simulation.seed), faults \(simulation.faults)")
        #expect(unknown == [], "outcomes unknown; replay with LOCKSTEP_SEED=\(simulation.seed), faults \(simulation.faults)")
    }
}
