import Arbiter
import Backup
import LogChannel
import Primary
import Replication
import Testing

/// Limits that cut Counter's 8-byte checkpoint into 8 chunks of 1 byte, 3 of them in flight.
func streamingLimits() -> PrimaryLimits {
    var limits = PrimaryLimits()
    limits.checkpointChunkBytes = 1
    limits.checkpointWindowChunks = 3
    return limits
}

/// A solo primary at epoch 1 holding `applied` entries, whose checkpoint streams in 1-byte chunks.
func streamingPrimary(applied: UInt64 = 5, limits: PrimaryLimits = streamingLimits()) -> PrimaryCore<Counter> {
    PrimaryCore(epoch: 1, machine: Counter(applied: applied), lastSequence: applied, entropy: FixedEntropy(),
                limits: limits)
}

extension Array where Element == PrimaryAction {
    /// The indexes of the checkpoint chunks sent, in order.
    var chunkIndexes: [UInt32] {
        sentFrames.compactMap { if case .checkpoint(_, _, let index, _, _, _) = $0 { index } else { nil } }
    }
}

extension Array where Element == BackupAction {
    var checkpointAcks: [Frame] {
        compactMap { if case .send(let frame) = $0, frame.kind == .checkpointAck { frame } else { nil } }
    }
    var sentKinds: [FrameKind] { compactMap { if case .send(let frame) = $0 { frame.kind } else { nil } } }
}

/// Counter's checkpoint at `applied`, as the 1-byte chunk frames a streaming primary sends after entry `sequence`,
/// each carrying the primary's estimate of the whole (Counter's is exact).
func checkpointChunks(applied: UInt64, sequence: UInt64) -> [Frame] {
    let bytes = Counter(applied: applied).encoded()
    return bytes.indices.map {
        .checkpoint(epoch: 1, sequence: sequence, chunkIndex: UInt32($0), isLast: $0 == bytes.count - 1,
                    estimatedBytes: UInt64(bytes.count), bytes: [bytes[$0]])
    }
}

func ack(_ chunkIndex: UInt32, sequence: UInt64 = 5) -> Frame {
    .checkpointAck(epoch: 1, sequence: sequence, chunkIndex: chunkIndex)
}

@Suite("streamed checkpoint, primary side")
struct PrimaryCheckpointStreamTests {
    @Test("a checkpoint goes out a window of chunks at a time, and each ack lets the next ones go")
    func window() {
        var primary = streamingPrimary()
        let joined = primary.handle(.backupJoined(backupChannel, backupHello), at: at(0))
        #expect(joined.chunkIndexes == [0, 1, 2])
        let first = primary.handle(.framesArrived(backupChannel, [ack(0)]), at: at(1))
        #expect(first.chunkIndexes == [3])
        let cumulative = primary.handle(.framesArrived(backupChannel, [ack(3)]), at: at(2))
        #expect(cumulative.chunkIndexes == [4, 5, 6])
        let repeated = primary.handle(.framesArrived(backupChannel, [ack(3)]), at: at(3))
        #expect(repeated.chunkIndexes.isEmpty)
        let last = primary.handle(.framesArrived(backupChannel, [ack(4)]), at: at(4))
        #expect(last.sentFrames.last == .checkpoint(epoch: 1, sequence: 5, chunkIndex: 7, isLast: true,
                                                    estimatedBytes: 8, bytes: [0]))
    }

    @Test("entries logged during the transfer go out as they happen, after the checkpoint, and replies leave solo")
    func interleaving() {
        var primary = streamingPrimary()
        _ = primary.handle(.backupJoined(backupChannel, backupHello), at: at(0))
        let executed = primary.handle(.commandsArrived([command(1), command(2)]), at: at(1))
        #expect(executed.sentFrames.map(\.kind) == [.entry, .entry])
        #expect(executed.sentFrames.map(\.headerSequenceForTests) == [6, 7])
        #expect(executed.releasedTags == [1, 2])
        let acked = primary.handle(.framesArrived(backupChannel, [ack(1)]), at: at(2))
        #expect(acked.chunkIndexes == [3, 4])
    }

    @Test("the backup protects only once every chunk is installed and the entries after them are acked")
    func protectsAfterTheLastChunk() {
        var primary = streamingPrimary(applied: 0)
        _ = primary.handle(.backupJoined(backupChannel, backupHello), at: at(0))
        // The installing backup's heartbeat says nothing about the checkpoint, even at the checkpoint's sequence.
        _ = primary.handle(.framesArrived(backupChannel, [.heartbeat(epoch: 1, sequence: 0)]), at: at(1))
        #expect(primary.standing == .solo)
        for index: UInt32 in [2, 5] {
            _ = primary.handle(.framesArrived(backupChannel, [ack(index, sequence: 0)]), at: at(2))
        }
        #expect(primary.standing == .solo)
        let installed = primary.handle(
            .framesArrived(backupChannel, [ack(7, sequence: 0), .ack(epoch: 1, received: 0, applied: 0)]), at: at(3))
        #expect(installed.sentFrames.contains(.protecting(epoch: 1, sequence: 0)))
        #expect(primary.standing == .protected)
    }

    @Test("a log ack at the checkpoint's sequence completes the transfer even if the last chunk's ack was lost")
    func lostLastChunkAck() {
        var primary = streamingPrimary()
        _ = primary.handle(.backupJoined(backupChannel, backupHello), at: at(0))
        _ = primary.handle(.framesArrived(backupChannel, [ack(2), ack(5)]), at: at(1))
        let acked = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 5, applied: 5)]), at: at(2))
        #expect(acked.sentFrames.contains(.protecting(epoch: 1, sequence: 5)))
        var status = NodeStatus(role: .joining, nodeName: "a")
        primary.report(into: &status)
        #expect(status.checkpoint == nil)
    }

    @Test("a log ack at the checkpoint's sequence before its last chunk went out drops the link")
    func ackBeforeTheCheckpointIsSent() {
        var primary = streamingPrimary()
        _ = primary.handle(.backupJoined(backupChannel, backupHello), at: at(0))
        let actions = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 5, applied: 5)]), at: at(1))
        #expect(actions.contains(.close(backupChannel)))
        #expect(primary.backup == nil)
    }

    @Test("intake pauses once the log unacked during a transfer reaches its bound, not before")
    func intakeBoundDuringTransfer() {
        var limits = streamingLimits()
        limits.unackedEntriesLimit = 3
        var primary = streamingPrimary(applied: 100, limits: limits)
        _ = primary.handle(.backupJoined(backupChannel, backupHello), at: at(0))
        let below = primary.handle(.commandsArrived([command(1), command(2)]), at: at(1))
        #expect(!below.contains(.pauseIntake))
        let atBound = primary.handle(.commandsArrived([command(3)]), at: at(2))
        #expect(atBound.contains(.pauseIntake))
    }

    @Test("a link lost mid-stream drops the checkpoint, and the next backup gets one from its first chunk")
    func lostMidStream() {
        var primary = streamingPrimary()
        _ = primary.handle(.backupJoined(backupChannel, backupHello), at: at(0))
        _ = primary.handle(.framesArrived(backupChannel, [ack(1)]), at: at(1))
        _ = primary.handle(.channelClosed(backupChannel, .endOfStream), at: at(2))
        var status = NodeStatus(role: .joining, nodeName: "a")
        primary.report(into: &status)
        #expect(status.checkpoint == nil)
        #expect(primary.standing == .solo)
        let rejoined = primary.handle(.backupJoined(31, backupHello), at: at(3))
        #expect(rejoined.chunkIndexes == [0, 1, 2])
    }

    @Test("an ack of a chunk never sent drops the link")
    func impossibleChunkAck() {
        var primary = streamingPrimary()
        _ = primary.handle(.backupJoined(backupChannel, backupHello), at: at(0))
        let actions = primary.handle(.framesArrived(backupChannel, [ack(3)]), at: at(1))
        #expect(actions.contains(.close(backupChannel)))
        #expect(primary.backup == nil)
    }

    @Test("the primary reports bytes and chunks sent against the snapshot's estimate, and logs start and end")
    func progress() {
        var primary = streamingPrimary()
        let joined = primary.handle(.backupJoined(backupChannel, backupHello), at: at(0))
        _ = primary.handle(.framesArrived(backupChannel, [ack(0)]), at: at(1_000))
        var status = NodeStatus(role: .joining, nodeName: "a")
        primary.report(into: &status)
        let progress = status.checkpoint
        #expect(progress == CheckpointProgress(direction: .sending, sequence: 5, bytes: 4, chunks: 4,
                                               estimatedBytes: 8, elapsed: .seconds(1)))
        #expect(progress?.bytesPerSecond == 4)
        #expect(progress?.estimatedTimeLeft == .seconds(1))
        #expect(joined.contains { if case .note(let line) = $0 { line.hasPrefix("sending b a checkpoint") } else { false } })
        let end = primary.handle(.framesArrived(backupChannel, [ack(3), ack(6), ack(7)]), at: at(2_000))
        #expect(end.contains { if case .note(let line) = $0 { line.contains("installed the checkpoint") } else { false } })
    }
}

@Suite("streamed checkpoint, backup side")
struct BackupCheckpointStreamTests {
    @Test("chunks install as they arrive, with one cumulative checkpoint ack per batch")
    func installsAsTheyArrive() {
        var backup = BackupCore(epoch: 1, machine: Counter(), limits: BackupLimits(), at: at(0))
        let chunks = checkpointChunks(applied: 5, sequence: 5)
        let first = backup.handle(.framesArrived(Array(chunks[0..<3])), at: at(1))
        #expect(first.checkpointAcks == [ack(2)])
        #expect(first.acks.isEmpty)
        #expect(backup.phase == .awaitingCheckpoint)
        let rest = backup.handle(.framesArrived(Array(chunks[3...])), at: at(2))
        #expect(rest.sentKinds == [.checkpointAck, .ack])
        #expect(rest.acks == [.ack(epoch: 1, received: 5, applied: 5)])
        #expect(backup.machine.applied == 5)
    }

    @Test("entries that arrive during the install wait, then are replayed and acked once the last chunk is in")
    func entriesWait() {
        var backup = BackupCore(epoch: 1, machine: Counter(), limits: BackupLimits(), at: at(0))
        let chunks = checkpointChunks(applied: 5, sequence: 5)
        let during = backup.handle(.framesArrived([chunks[0], entry(6), chunks[1], entry(7)]), at: at(1))
        #expect(during.acks.isEmpty)
        #expect(backup.received == 0)
        let installed = backup.handle(.framesArrived(Array(chunks[2...]) + [entry(8)]), at: at(2))
        #expect(installed.acks == [.ack(epoch: 1, received: 8, applied: 8)])
        #expect(backup.machine.applied == 8)
        #expect(!backup.isProtecting)
    }

    @Test("a primary lost mid-install makes the half-installed backup rejoin, never ask for an epoch")
    func primaryLostMidInstall() {
        var backup = BackupCore(epoch: 1, machine: Counter(), limits: BackupLimits(), at: at(0))
        _ = backup.handle(.framesArrived(Array(checkpointChunks(applied: 5, sequence: 5)[0..<4])), at: at(1))
        let lost = backup.handle(.channelClosed(.endOfStream), at: at(2))
        #expect(lost.rejoined)
        #expect(!lost.contains { if case .takeEpoch = $0 { true } else { false } })
    }

    @Test("a checkpoint that stops arriving mid-stream means trying another join")
    func stalledStream() {
        var backup = BackupCore(epoch: 1, machine: Counter(), limits: BackupLimits(), at: at(0))
        let chunks = checkpointChunks(applied: 5, sequence: 5)
        _ = backup.handle(.framesArrived([chunks[0]]), at: at(1_000))
        _ = backup.handle(.framesArrived([chunks[1]]), at: at(2_500))
        let limit = BackupLimits().checkpointWaitLimit
        #expect(backup.nextWakeup == at(2_500) + limit)
        #expect(!backup.handle(.framesArrived([entry(6)]), at: at(2_500) + limit / 2).rejoined)
        #expect(backup.handle(.timerFired, at: at(2_500) + limit).rejoined)
    }

    @Test("the installing backup logs its progress at most once per interval")
    func progressNotes() {
        var backup = BackupCore(epoch: 1, machine: Counter(), limits: BackupLimits(), at: at(0))
        let chunks = checkpointChunks(applied: 5, sequence: 5)
        let interval = BackupLimits().checkpointProgressNoteInterval
        let progressNotes = (0..<6).map { index in
            let actions = backup.handle(.framesArrived([chunks[index]]), at: at(0) + interval * (Double(index) / 2))
            return actions.contains { if case .note(let line) = $0 { line.hasPrefix("checkpoint from") } else { false } }
        }
        #expect(progressNotes == [false, false, true, false, true, false])
    }

    @Test("a chunk out of order makes the backup rejoin; a repeated one is ignored")
    func chunkOrder() {
        let chunks = checkpointChunks(applied: 5, sequence: 5)
        var repeated = BackupCore(epoch: 1, machine: Counter(), limits: BackupLimits(), at: at(0))
        let again = repeated.handle(.framesArrived([chunks[0], chunks[1], chunks[1], chunks[2]]), at: at(1))
        #expect(!again.rejoined)
        #expect(again.checkpointAcks == [ack(2)])
        var skipped = BackupCore(epoch: 1, machine: Counter(), limits: BackupLimits(), at: at(0))
        #expect(skipped.handle(.framesArrived([chunks[0], chunks[2]]), at: at(1)).rejoined)
    }

    @Test("more entries during the install than the pending bound make the backup rejoin")
    func pendingBound() {
        var limits = BackupLimits()
        limits.pendingEntriesLimit = 2
        var backup = BackupCore(epoch: 1, machine: Counter(), limits: limits, at: at(0))
        let chunk = checkpointChunks(applied: 5, sequence: 5)[0]
        #expect(!backup.handle(.framesArrived([chunk, entry(6), entry(7)]), at: at(1)).rejoined)
        #expect(backup.handle(.framesArrived([entry(8)]), at: at(2)).rejoined)
    }

    @Test("while installing, the backup's heartbeat repeats its checkpoint ack, and it reports its progress")
    func heartbeatAndProgress() {
        var backup = BackupCore(epoch: 1, machine: Counter(), limits: BackupLimits(), at: at(0))
        #expect(backup.heartbeat == .heartbeat(epoch: 1, sequence: 0))
        _ = backup.handle(.framesArrived(Array(checkpointChunks(applied: 5, sequence: 5)[0..<2])), at: at(10))
        _ = backup.handle(.framesArrived([checkpointChunks(applied: 5, sequence: 5)[2]]), at: at(510))
        #expect(backup.heartbeat == ack(2))
        var status = NodeStatus(role: .joining, nodeName: "b")
        backup.report(into: &status)
        #expect(status.checkpoint == CheckpointProgress(direction: .receiving, sequence: 5, bytes: 3, chunks: 3,
                                                        estimatedBytes: 8, elapsed: .milliseconds(500)))
    }

    @Test("the backup takes the primary's estimate from the first chunk it sends and reports a total and a time left")
    func estimateFromThePrimary() {
        var primary = streamingPrimary()
        var backup = BackupCore(epoch: 1, machine: Counter(), limits: BackupLimits(), at: at(0))
        // Given the chunks a primary actually sends, when the backup installs a first window at once
        let joined = primary.handle(.backupJoined(backupChannel, backupHello), at: at(0))
        let first = backup.handle(.framesArrived(joined.sentFrames), at: at(0))
        var status = NodeStatus(role: .joining, nodeName: "b")
        backup.report(into: &status)
        // Then it knows the total before any rate, and says so when it starts
        #expect(status.checkpoint?.estimatedBytes == 8)
        #expect(status.checkpoint?.estimatedTimeLeft == nil)
        #expect(first.contains { if case .note(let line) = $0 { line.contains("(~8 bytes)") } else { false } })
        // When a second window takes a second, then it has a rate and a time left from that estimate
        let next = primary.handle(.framesArrived(backupChannel, first.checkpointAcks), at: at(1_000))
        _ = backup.handle(.framesArrived(next.sentFrames), at: at(1_000))
        backup.report(into: &status)
        let progress = status.checkpoint
        #expect(progress == CheckpointProgress(direction: .receiving, sequence: 5, bytes: 6, chunks: 6,
                                               estimatedBytes: 8, elapsed: .seconds(1)))
        #expect(progress?.estimatedTimeLeft == .milliseconds(333))
        #expect(progress?.summary == "installed 0.0 MB of ~0.0 MB in 6 chunks in 1.0 s (0.0 MB/s, ~0.3 s left)")
    }
}

extension Frame {
    /// The header's sequence field as the tests read it: an entry's sequence.
    var headerSequenceForTests: UInt64 {
        if case .entry(_, let sequence, _) = self { sequence } else { 0 }
    }
}
