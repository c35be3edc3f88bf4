import Replication
import Testing

/// Re-protection with checkpoints of many chunks, streamed over the simulated network while clients keep writing,
/// with the backup or the primary dying mid-stream (issue 15, streamed transfer).
@Suite("streamed checkpoint simulation")
struct CheckpointStreamSimulationTests {
    /// A quiet pair whose checkpoints stream in 16-byte chunks, 2 in flight: a few thousand tokens make hundreds.
    static func streamingPair(seed: UInt64) -> Simulation {
        var faults = FaultMix.none
        faults.checkpointChunkBytes = 16
        faults.checkpointWindowChunks = 2
        return Simulation(seed: seed, faults: faults)
    }

    /// Runs until the backup (restarted after a kill) has installed `chunks` chunks of a new checkpoint.
    static func restartBackupAndStream(_ simulation: inout Simulation, untilInstalled chunks: Int) -> Int? {
        simulation.run(until: { $0.isProtected && $0.acked.count >= 300 }, deadline: .seconds(30))
        guard let primary = simulation.nodes.indices.first(where: { simulation.nodes[$0].core.status.isServing })
        else { return nil }
        simulation.crashAndRestart(1 - primary)
        simulation.run(until: { ($0.checkpointInstalling?.progress.chunks ?? 0) >= chunks }, deadline: .seconds(10))
        return primary
    }

    @Test("a checkpoint of many chunks streams to a restarted backup while clients keep being served")
    func manyChunksInterleaved() {
        var simulation = Self.streamingPair(seed: 11)
        guard let primary = Self.restartBackupAndStream(&simulation, untilInstalled: 1) else {
            Issue.record("no primary")
            return
        }
        // Step through the transfer, watching what the primary reports and what the clients get meanwhile.
        let ackedAtStart = simulation.acked.count
        var chunksSent = 0, ackedDuringTransfer = 0
        while let sent = simulation.checkpointSent {
            chunksSent = max(chunksSent, sent.chunks)
            ackedDuringTransfer = simulation.acked.count - ackedAtStart
            simulation.run(until: { $0.checkpointSent == nil }, deadline: .milliseconds(1))
        }
        #expect(chunksSent >= 100, "the checkpoint went in \(chunksSent) chunks")
        #expect(ackedDuringTransfer > 0, "no client was answered during the transfer")
        simulation.run(until: { $0.isProtected }, deadline: .seconds(5))
        let isProtected = simulation.isProtected, role = simulation.nodes[primary].core.status.role
        #expect(isProtected)
        #expect(role == .primary)
        simulation.stopClients()
        simulation.run(until: { $0.backupCaughtUp }, deadline: .seconds(5))
        simulation.checkFinalState()
        let violations = simulation.violations
        #expect(violations == [])
    }

    @Test("a backup that dies mid-stream: the primary drops the checkpoint, and the restarted backup protects it")
    func backupDiesMidStream() {
        var simulation = Self.streamingPair(seed: 12)
        guard let primary = Self.restartBackupAndStream(&simulation, untilInstalled: 20) else {
            Issue.record("no primary")
            return
        }
        simulation.crash(1 - primary, silently: false)
        simulation.run(until: { $0.checkpointSent == nil }, deadline: .seconds(1))
        let dropped = simulation.checkpointSent == nil, role = simulation.nodes[primary].core.status.role
        #expect(dropped, "the primary still holds the checkpoint of a dead backup")
        #expect(role == .solo)
        simulation.healAll()
        simulation.run(until: { $0.isProtected }, deadline: .seconds(10))
        let isProtected = simulation.isProtected
        #expect(isProtected)
        simulation.stopClients()
        simulation.run(until: { $0.backupCaughtUp }, deadline: .seconds(5))
        simulation.checkFinalState()
        let (violations, failovers) = (simulation.violations, simulation.failovers)
        #expect(failovers == 0)
        #expect(violations == [])
    }

    @Test("a primary that dies mid-stream: the half-installed backup never goes live", arguments: [false, true])
    func primaryDiesMidStream(silently: Bool) {
        var simulation = Self.streamingPair(seed: silently ? 14 : 13)
        guard let primary = Self.restartBackupAndStream(&simulation, untilInstalled: 20) else {
            Issue.record("no primary")
            return
        }
        let installing = simulation.checkpointInstalling
        #expect(installing != nil, "the backup is not mid-install")
        let epochBefore = simulation.highestEpochTaken
        simulation.crash(primary, silently: silently)
        simulation.run(until: { _ in false }, deadline: .seconds(2))
        let (failovers, epoch) = (simulation.failovers, simulation.highestEpochTaken)
        let serving = simulation.nodes.indices.filter { simulation.nodes[$0].isUp && simulation.nodes[$0].core.status.isServing }
        #expect(failovers == 0)
        #expect(epoch == epochBefore, "epoch \(epoch) was taken after the only holder of the state died")
        #expect(serving.isEmpty)
        simulation.checkHistoryWithoutFinalState()
        let violations = simulation.violations
        #expect(violations == [])
    }
}
