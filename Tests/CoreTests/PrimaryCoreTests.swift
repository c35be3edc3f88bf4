import Arbiter
import LogChannel
import Primary
import Replication
import Testing

/// A state machine whose replies are the count of commands applied: enough to see which reply is which.
struct Counter: SmallStateMachine, Equatable {
    var applied: UInt64 = 0
    mutating func apply(_ command: [UInt8], context: inout ApplyContext) -> [UInt8] {
        applied += 1
        _ = context.randomValue()
        return Array("\(applied)".utf8)
    }
    mutating func tick(context: inout ApplyContext) {}
    /// Commands starting with "r" are reads, answered with the count and no entry of their own. Those starting with
    /// "e" read the clock and then decline, as a read that meets an expired key does.
    func read(_ command: [UInt8], into reply: inout [UInt8], context: inout ApplyContext) -> Bool {
        if command.first == UInt8(ascii: "e") { _ = context.wallClockNanoseconds() }
        guard command.first == UInt8(ascii: "r") else { return false }
        reply.append(contentsOf: Array("\(applied)".utf8))
        return true
    }
    func encoded() -> [UInt8] { withUnsafeBytes(of: applied.littleEndian) { Array($0) } }
    mutating func restore(from snapshot: [UInt8]) throws(SnapshotError) {
        guard snapshot.count == 8 else { throw SnapshotError("need 8 bytes") }
        applied = snapshot.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * $1.offset) }
    }
    func digest() -> UInt64 { applied &* 0x9E37_79B9_7F4A_7C15 }
}

struct FixedEntropy: EntropySource {
    mutating func wallClockNanoseconds() -> Int64 { 1_000 }
    mutating func randomValue() -> UInt64 { 7 }
}

extension Array where Element == PrimaryAction {
    var releasedTags: [UInt64] {
        flatMap { action -> [UInt64] in if case .release(let replies) = action { replies.map(\.tag) } else { [] } }
    }
    /// The sequences of the log entries shipped, in order.
    var shippedSequences: [UInt64] {
        compactMap { action in if case .log(_, _, let sequence, _) = action { sequence } else { nil } }
    }
    /// Every frame sent, log entries as the `.entry` frames the runtime makes of them.
    var sentFrames: [Frame] {
        compactMap { action in
            switch action {
            case .send(_, let frame): frame
            case .log(_, let epoch, let sequence, let entry):
                .entry(epoch: epoch, sequence: sequence, payload: entry.encoded)
            default: nil
            }
        }
    }
}

let backupChannel: ChannelID = 9
let backupHello = Hello(epoch: 1, nodeName: "b", channelAddress: "b:1", clientAddress: "b:2")

func command(_ tag: UInt64) -> ClientCommand { ClientCommand(tag: tag, bytes: Array("c\(tag)".utf8)) }
func at(_ milliseconds: Int64) -> Instant { .zero + .milliseconds(milliseconds) }

/// A backup's hello promising a 10 ms read lease.
let leasingHello = Hello(
    epoch: 1, nodeName: "b", channelAddress: "b:1", clientAddress: "b:2", readLease: .milliseconds(10))

func read(_ tag: UInt64) -> ClientCommand { ClientCommand(tag: tag, bytes: Array("read".utf8)) }

/// A primary at epoch 1 whose backup (`hello`, promising no read lease by default) has installed the checkpoint and
/// is protecting it.
func protectedPrimary(limits: PrimaryLimits = PrimaryLimits(), hello: Hello = backupHello) -> PrimaryCore<Counter> {
    var primary = PrimaryCore(epoch: 1, machine: Counter(), lastSequence: 0, entropy: FixedEntropy(), limits: limits)
    _ = primary.handle(.backupJoined(backupChannel, hello), at: at(0))
    let installed: [Frame] = [.checkpointAck(epoch: 1, sequence: 0, chunkIndex: 0), .ack(epoch: 1, received: 0, applied: 0)]
    _ = primary.handle(.framesArrived(backupChannel, installed), at: at(0))
    precondition(primary.standing == .protected)
    return primary
}

@Suite("primary core")
struct PrimaryCoreTests {
    @Test("a solo primary releases each reply at once")
    func soloReleasesAtOnce() {
        var primary = PrimaryCore(epoch: 1, machine: Counter(), lastSequence: 0, entropy: FixedEntropy(),
                                  limits: PrimaryLimits())
        let actions = primary.handle(.commandsArrived([command(1), command(2)]), at: at(1))
        #expect(actions.releasedTags == [1, 2])
        #expect(actions.sentFrames.isEmpty)
    }

    @Test("a release reuses the storage of the released array the runtime handed back")
    func releaseReusesHandedBackStorage() {
        var primary = PrimaryCore(epoch: 1, machine: Counter(), lastSequence: 0, entropy: FixedEntropy(),
                                  limits: PrimaryLimits())
        var actions = primary.handle(.commandsArrived((1...40).map(command)), at: at(1))
        guard let index = actions.firstIndex(where: { if case .release = $0 { true } else { false } }),
            case .release(let replies) = actions.remove(at: index)
        else {
            Issue.record("a solo primary released nothing")
            return
        }
        actions = []
        #expect(replies.map(\.tag) == Array(1...40))
        let storage = replies.withUnsafeBufferPointer { $0.baseAddress }
        primary.keepStorage(ofReleased: consume replies)
        let next = primary.handle(.commandsArrived((41...60).map(command)), at: at(2))
        #expect(next.releasedTags == Array(41...60))
        for case .release(let released) in next {
            #expect(released.withUnsafeBufferPointer { $0.baseAddress } == storage)
        }
    }

    @Test("reads between writes each get their own reply, however many share one array of replies")
    func readRepliesBetweenWrites() {
        var primary = PrimaryCore(epoch: 1, machine: Counter(), lastSequence: 0, entropy: FixedEntropy(),
                                  limits: PrimaryLimits())
        // Enough reads that their replies fill several arrays, with writes in runs of reads of every length.
        var commands: [ClientCommand] = []
        var expected: [String] = []
        var applied = 0
        for tag in UInt64(1)...1_500 {
            if tag % 97 == 0 || tag % 13 == 0 {
                commands.append(command(tag))
                applied += 1
            } else {
                commands.append(ClientCommand(tag: tag, bytes: Array("read".utf8)))
            }
            expected.append("\(applied)")
        }
        let actions = primary.handle(.commandsArrived(commands), at: at(1))
        let replies = actions.flatMap { action -> [Reply] in if case .release(let replies) = action { replies } else { [] } }
        #expect(replies.map(\.tag) == Array(1...1_500))
        #expect(replies.map { String(decoding: $0.bytes, as: UTF8.self) } == expected)
    }

    @Test("a reply stays withheld until the backup acks its entry")
    func replyWaitsForAck() {
        var primary = protectedPrimary()
        let executed = primary.handle(.commandsArrived([command(7), command(8)]), at: at(1))
        #expect(executed.releasedTags.isEmpty)
        #expect(executed.sentFrames.count == 2)
        let partial = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 1, applied: 1)]), at: at(2))
        #expect(partial.releasedTags == [7])
        let rest = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 2, applied: 2)]), at: at(3))
        #expect(rest.releasedTags == [8])
    }

    @Test("entries appended while an earlier event's entries are unacked wait, and leave together when the ack comes")
    func entriesWaitForTheShipmentInFlight() {
        var limits = PrimaryLimits()
        limits.heldTimeLimit = .seconds(1)
        var primary = protectedPrimary(limits: limits)
        let first = primary.handle(.commandsArrived([command(1), command(2)]), at: at(1))
        #expect(first.shippedSequences == [1, 2], "nothing in flight: the event's entries leave together")
        let second = primary.handle(.commandsArrived([command(3)]), at: at(2))
        let third = primary.handle(.commandsArrived([command(4), command(5)]), at: at(3))
        #expect(second.shippedSequences.isEmpty && third.shippedSequences.isEmpty, "1 and 2 are in flight")
        let partial = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 1, applied: 1)]), at: at(4))
        #expect(partial.shippedSequences.isEmpty, "2 is still in flight")
        #expect(partial.releasedTags == [1])
        let acked = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 2, applied: 2)]), at: at(5))
        #expect(acked.shippedSequences == [3, 4, 5])
        #expect(acked.releasedTags == [2])
        let fourth = primary.handle(.commandsArrived([command(6)]), at: at(6))
        #expect(fourth.shippedSequences.isEmpty, "3 to 5 are in flight")
        let all = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 5, applied: 5)]), at: at(7))
        #expect(all.shippedSequences == [6])
        #expect(all.releasedTags == [3, 4, 5])
        let idle = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 6, applied: 6)]), at: at(8))
        #expect(idle.releasedTags == [6])
        let alone = primary.handle(.commandsArrived([command(7)]), at: at(9))
        #expect(alone.shippedSequences == [7], "nothing in flight: it leaves with its event")
    }

    @Test("held entries leave without the ack once they waited the held time's bound: an ack may never come")
    func heldEntriesLeaveAfterTheirTimeLimit() {
        var primary = protectedPrimary()
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        let held = primary.handle(.commandsArrived([command(2)]), at: at(2))
        #expect(held.shippedSequences.isEmpty)
        let waiting = primary.handle(.commandsArrived([command(3)]), at: at(2) + primary.limits.heldTimeLimit / 2)
        #expect(waiting.shippedSequences.isEmpty)
        let due = primary.handle(.timerFired, at: at(2) + primary.limits.heldTimeLimit)
        #expect(due.shippedSequences == [2, 3])
        let acked = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 3, applied: 3)]), at: at(5))
        #expect(acked.releasedTags == [1, 2, 3])
    }

    @Test("held entries leave without waiting for the ack once they fill the held bytes' bound")
    func heldEntriesLeaveAtTheirBound() {
        var primary = protectedPrimary()
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        let size = primary.limits.heldBytesLimit * 5 / 8
        let large = ClientCommand(tag: 2, bytes: [UInt8](repeating: 0x63, count: size))
        let half = primary.handle(.commandsArrived([large]), at: at(2))
        #expect(half.shippedSequences.isEmpty)
        let larger = ClientCommand(tag: 3, bytes: [UInt8](repeating: 0x63, count: size))
        let full = primary.handle(.commandsArrived([larger]), at: at(3))
        #expect(full.shippedSequences == [2, 3])
        let acked = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 3, applied: 3)]), at: at(4))
        #expect(acked.releasedTags == [1, 2, 3])
        #expect(acked.shippedSequences.isEmpty)
    }

    @Test("a backup lost with entries held takes them along: a new backup gets them in its checkpoint, not twice")
    func heldEntriesGoWithTheLostBackup() {
        var primary = protectedPrimary()
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        _ = primary.handle(.commandsArrived([command(2)]), at: at(2))
        _ = primary.handle(.channelClosed(backupChannel, .endOfStream), at: at(3))
        let record = EpochRecord(epoch: 2, claim: Claim(nodeName: "a", channelAddress: "", clientAddress: ""),
                                 takenAtMilliseconds: 0)
        _ = primary.handle(.arbiterAnswered(.took(.granted(record))), at: at(4))
        let joined = primary.handle(.backupJoined(10, backupHello), at: at(5))
        #expect(joined.shippedSequences.isEmpty, "entries 1 and 2 are in the checkpoint")
        let installed: [Frame] = [.checkpointAck(epoch: 2, sequence: 2, chunkIndex: 0), .ack(epoch: 2, received: 2, applied: 2)]
        let protecting = primary.handle(.framesArrived(10, installed), at: at(6))
        #expect(protecting.shippedSequences.isEmpty)
        let next = primary.handle(.commandsArrived([command(3)]), at: at(7))
        #expect(next.shippedSequences == [3])
    }

    @Test("the status reports the entries and bytes the backup has not acked, until its acks cover them")
    func statusReportsUnackedLog() {
        var primary = protectedPrimary()
        let executed = primary.handle(.commandsArrived([command(1), command(2), command(3)]), at: at(1))
        let payloadBytes = executed.sentFrames.map { frame -> Int in
            if case .entry(_, _, let payload) = frame { payload.count } else { 0 }
        }
        var status = NodeStatus(role: .joining, nodeName: "a")
        primary.report(into: &status)
        #expect(status.unackedEntries == 3)
        #expect(status.unackedBytes == payloadBytes.reduce(0, +))
        #expect(status.unackedBytes > 0)
        _ = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 2, applied: 1)]), at: at(2))
        primary.report(into: &status)
        #expect(status.unackedEntries == 1)
        #expect(status.unackedBytes == payloadBytes[2])
        _ = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 3, applied: 3)]), at: at(3))
        primary.report(into: &status)
        #expect(status.unackedEntries == 0 && status.unackedBytes == 0)
    }

    @Test("a read needs no entry of its own, but its reply waits for the ack of an entry appended after it")
    func readWaitsForLaterEntry() {
        var primary = protectedPrimary()
        let write = primary.handle(.commandsArrived([command(1)]), at: at(1))
        let acked = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 1, applied: 1)]), at: at(2))
        #expect(write.sentFrames.count == 1 && acked.releasedTags == [1])
        // Everything the read sees is acked, yet only an ack sent after the read proves this primary still leads.
        let read = ClientCommand(tag: 2, bytes: Array("read".utf8))
        let answered = primary.handle(.commandsArrived([read]), at: at(3))
        #expect(answered.releasedTags.isEmpty)
        #expect(answered.sentFrames == [.entry(epoch: 1, sequence: 2, payload: LogEntry.barrier.encoded)])
        let staleAck = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 1, applied: 1)]), at: at(4))
        #expect(staleAck.releasedTags.isEmpty)
        let barrierAck = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 2, applied: 2)]), at: at(5))
        #expect(barrierAck.releasedTags == [2])
        // A write behind reads in the same batch is their barrier: no extra entry, replies leave in order.
        let mixed = primary.handle(.commandsArrived([ClientCommand(tag: 3, bytes: Array("read".utf8)), command(4)]), at: at(6))
        #expect(mixed.sentFrames.count == 1)
        let both = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 3, applied: 3)]), at: at(7))
        #expect(both.releasedTags == [3, 4])
    }

    @Test("under the backup's read lease, a read that observed only acked writes is answered at once, with no entry")
    func leasedReadAnsweredAtOnce() {
        var primary = protectedPrimary(hello: leasingHello)
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        _ = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 1, applied: 1)]), at: at(2))
        // The lease runs from when the acked entry was sent (t=1ms), for the promise less its margin.
        let answered = primary.handle(.commandsArrived([read(2)]), at: at(3))
        #expect(answered.releasedTags == [2])
        #expect(answered.sentFrames.isEmpty)
        let end = at(1) + (leasingHello.readLease - leasingHello.readLease / 8)
        let lastLeased = primary.handle(.commandsArrived([read(3)]), at: end + .nanoseconds(-1))
        #expect(lastLeased.releasedTags == [3])
        // Past its half, the lease is being renewed (sequence 2); until that ack, at its end the lease is gone, and
        // the read waits for a barrier of its own, as without a lease.
        #expect(lastLeased.sentFrames == [.entry(epoch: 1, sequence: 2, payload: LogEntry.barrier.encoded)])
        let expired = primary.handle(.commandsArrived([read(4)]), at: end)
        #expect(expired.releasedTags.isEmpty)
        #expect(expired.sentFrames.isEmpty, "its barrier, sequence 3, waits for the ack of the one in flight")
        let renewed = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 2, applied: 2)]), at: end)
        #expect(renewed.sentFrames == [.entry(epoch: 1, sequence: 3, payload: LogEntry.barrier.encoded)])
        #expect(renewed.releasedTags.isEmpty)
        let acked = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 3, applied: 3)]), at: end)
        #expect(acked.releasedTags == [4])
    }

    @Test("under the read lease, a read behind an unacked write waits for that write's ack, and needs no barrier")
    func leasedReadWaitsForWhatItObserved() {
        var primary = protectedPrimary(hello: leasingHello)
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        _ = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 1, applied: 1)]), at: at(1))
        let write = primary.handle(.commandsArrived([command(2), read(3)]), at: at(2))
        #expect(write.sentFrames.count == 1)  // the write's entry; no barrier
        #expect(write.releasedTags.isEmpty)
        let acked = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 2, applied: 2)]), at: at(3))
        #expect(acked.releasedTags == [2, 3])
    }

    @Test("a lease past its half is renewed by a barrier nobody waits for, whose ack extends it")
    func leaseRenewedBeforeItEnds() {
        var primary = protectedPrimary(hello: leasingHello)
        _ = primary.handle(.commandsArrived([command(1)]), at: at(0))
        _ = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 1, applied: 1)]), at: at(0))
        let late = primary.handle(.commandsArrived([read(2)]), at: at(6))
        #expect(late.releasedTags == [2])
        #expect(late.sentFrames == [.entry(epoch: 1, sequence: 2, payload: LogEntry.barrier.encoded)])
        // One renewal in flight is enough: the next read sends none.
        #expect(primary.handle(.commandsArrived([read(3)]), at: at(7)).sentFrames.isEmpty)
        _ = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 2, applied: 2)]), at: at(7))
        // The ack moved the lease on to 6ms + 8.75ms: past the first lease's end, reads still leave at once.
        let renewed = primary.handle(.commandsArrived([read(4)]), at: at(14))
        #expect(renewed.releasedTags == [4])
    }

    @Test("a lease is renewed after a batch of reads whose replies filled their array, withheld before the batch ended")
    func leaseRenewedAfterFullReplyArray() {
        var primary = protectedPrimary(hello: leasingHello)
        _ = primary.handle(.commandsArrived([command(1)]), at: at(0))
        _ = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 1, applied: 1)]), at: at(0))
        // Each reply is one byte ("1"): the last read fills the array, and its run is withheld inside the batch.
        let reads = (2...UInt64(961)).map(read)  // 960 one-byte replies: `PrimaryCore.readReplyBytesPerArray`
        let late = primary.handle(.commandsArrived(reads), at: at(6))
        #expect(late.releasedTags.count == reads.count)
        #expect(late.sentFrames == [.entry(epoch: 1, sequence: 2, payload: LogEntry.barrier.encoded)])
    }

    @Test("the read lease ends with the backup that granted it: the next backup, promising none, gets barriers")
    func lostBackupEndsLease() {
        var primary = protectedPrimary(hello: leasingHello)
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        _ = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 1, applied: 1)]), at: at(1))
        _ = primary.handle(.channelClosed(backupChannel, .endOfStream), at: at(2))
        // Reads wait with everything else for the arbiter, which grants the next epoch: solo.
        #expect(primary.handle(.commandsArrived([read(2)]), at: at(2)).releasedTags.isEmpty)
        let record = EpochRecord(epoch: 2, claim: Claim(nodeName: "a", channelAddress: "", clientAddress: ""),
                                 takenAtMilliseconds: 0)
        _ = primary.handle(.arbiterAnswered(.took(.granted(record))), at: at(2))
        #expect(primary.standing == .solo)
        // Another backup joins and protects, within what was the old lease, having promised none.
        let other: ChannelID = 10
        _ = primary.handle(.backupJoined(other, Hello(epoch: 2, nodeName: "c", channelAddress: "c:1", clientAddress: "c:2")), at: at(3))
        _ = primary.handle(.framesArrived(other, [.checkpointAck(epoch: 2, sequence: 2, chunkIndex: 0), .ack(epoch: 2, received: 2, applied: 2)]), at: at(3))
        #expect(primary.standing == .protected)
        let read = primary.handle(.commandsArrived([read(3)]), at: at(4))
        #expect(read.releasedTags.isEmpty)
        #expect(read.sentFrames.count == 1)  // its barrier
    }

    @Test("what a read recorded before declining stays out of the entry: the backup replays only what apply read")
    func declinedReadRecordsNothing() {
        var primary = protectedPrimary()
        let declined = ClientCommand(tag: 1, bytes: Array("expired".utf8))
        let actions = primary.handle(.commandsArrived([declined]), at: at(1))
        let entries = actions.compactMap { action -> LogEntry? in
            if case .log(_, _, _, let entry) = action { entry } else { nil }
        }
        #expect(entries == [.command(declined.bytes, recorded: [.random(7)])])
    }

    @Test("a new backup gets a checkpoint and protects only after acking it, marked in-stream")
    func reprotection() {
        var primary = PrimaryCore(epoch: 3, machine: Counter(), lastSequence: 0, entropy: FixedEntropy(),
                                  limits: PrimaryLimits())
        _ = primary.handle(.commandsArrived([command(1)]), at: at(0))
        let joined = primary.handle(.backupJoined(backupChannel, backupHello), at: at(1))
        #expect(joined.sentFrames.contains { if case .checkpoint(3, 1, 0, true, _, _) = $0 { true } else { false } })
        let whileSyncing = primary.handle(.commandsArrived([command(2)]), at: at(2))
        #expect(whileSyncing.releasedTags == [2], "still solo while the backup installs the checkpoint")
        let caughtUp = primary.handle(
            .framesArrived(backupChannel, [.checkpointAck(epoch: 3, sequence: 1, chunkIndex: 0),
                                           .ack(epoch: 3, received: 2, applied: 2)]), at: at(3))
        #expect(caughtUp.sentFrames.contains(.protecting(epoch: 3, sequence: 2)))
        #expect(primary.standing == .protected)
        let afterwards = primary.handle(.commandsArrived([command(3)]), at: at(4))
        #expect(afterwards.releasedTags.isEmpty)
    }

    @Test("losing a protecting backup withholds everything until the arbiter grants the next epoch")
    func lostBackupAsksArbiter() {
        var primary = protectedPrimary()
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        let lost = primary.handle(.channelClosed(backupChannel, .peerSilent(.milliseconds(300))), at: at(2))
        #expect(lost.contains(.takeEpoch(2)))
        #expect(lost.releasedTags.isEmpty)
        #expect(lost.contains(.pauseIntake))
        let record = EpochRecord(epoch: 2, claim: Claim(nodeName: "a", channelAddress: "", clientAddress: ""),
                                 takenAtMilliseconds: 0)
        let granted = primary.handle(.arbiterAnswered(.took(.granted(record))), at: at(3))
        #expect(granted.releasedTags == [1])
        #expect(primary.standing == .solo && primary.epoch == 2)
    }

    @Test("a primary that loses the arbiter race stops and releases nothing")
    func lostArbiterStops() {
        var primary = protectedPrimary()
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        _ = primary.handle(.channelClosed(backupChannel, .endOfStream), at: at(2))
        let winner = EpochRecord(epoch: 2, claim: Claim(nodeName: "b", channelAddress: "", clientAddress: ""),
                                 takenAtMilliseconds: 0)
        let lost = primary.handle(.arbiterAnswered(.took(.lost(to: winner))), at: at(3))
        #expect(lost.releasedTags.isEmpty)
        #expect(lost.contains { if case .stop = $0 { true } else { false } })
        #expect(primary.standing == .stopped)
    }

    @Test("an unreachable arbiter means waiting and asking again, never going on")
    func arbiterUnavailable() {
        var primary = protectedPrimary()
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        _ = primary.handle(.channelClosed(backupChannel, .endOfStream), at: at(2))
        let failed = primary.handle(.arbiterAnswered(.failed(.readOnly(path: "/arbiter"))), at: at(3))
        #expect(failed.releasedTags.isEmpty)
        let retry = primary.handle(.timerFired, at: at(3) + primary.limits.arbiterRetryInterval)
        #expect(retry.contains(.takeEpoch(2)))
        #expect(retry.releasedTags.isEmpty)
    }

    @Test("a full unacked log pauses intake and an ack resumes it")
    func backpressure() {
        var limits = PrimaryLimits()
        limits.unackedEntriesLimit = 3
        var primary = protectedPrimary(limits: limits)
        let filled = primary.handle(.commandsArrived([command(1), command(2), command(3)]), at: at(1))
        #expect(filled.contains(.pauseIntake))
        #expect(primary.isIntakePaused)
        let acked = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 3, applied: 3)]), at: at(2))
        #expect(acked.contains(.resumeIntake))
        #expect(acked.releasedTags == [1, 2, 3])
    }

    @Test("a backup that lags in replay slows the primary down")
    func replayLagPauses() {
        var limits = PrimaryLimits()
        limits.replayLagLimit = 2
        var primary = protectedPrimary(limits: limits)
        _ = primary.handle(.commandsArrived([command(1), command(2), command(3), command(4)]), at: at(1))
        let lagging = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 4, applied: 1)]), at: at(2))
        #expect(primary.isIntakePaused)
        #expect(lagging.releasedTags == [1, 2, 3, 4], "received entries are safe: their replies leave")
        let replayed = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 4, applied: 4)]), at: at(3))
        #expect(replayed.contains(.resumeIntake))
    }

    @Test("a stop request hands over only once the backup has applied everything")
    func plannedSwitchover() {
        var primary = protectedPrimary()
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        let asked = primary.handle(.stopRequested, at: at(2))
        #expect(!asked.sentFrames.contains { $0.kind == .handover })
        let done = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 1, applied: 1)]), at: at(3))
        #expect(done.releasedTags == [1])
        #expect(done.sentFrames.contains(.handover(epoch: 1, sequence: 1)))
        #expect(done.contains { if case .handedOver = $0 { true } else { false } })
    }

    @Test("a stop requested while waiting for the arbiter is honoured once it answers")
    func stopWhileAwaitingEpoch() {
        var primary = protectedPrimary()
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        _ = primary.handle(.channelClosed(backupChannel, .endOfStream), at: at(2))
        let asked = primary.handle(.stopRequested, at: at(3))
        #expect(!asked.contains { if case .stop = $0 { true } else { false } })
        let record = EpochRecord(epoch: 2, claim: Claim(nodeName: "a", channelAddress: "", clientAddress: ""),
                                 takenAtMilliseconds: 0)
        let granted = primary.handle(.arbiterAnswered(.took(.granted(record))), at: at(4))
        #expect(granted.releasedTags == [1])
        #expect(granted.contains { if case .stop = $0 { true } else { false } })
    }

    @Test("a backup lost during a handover is lost like any other: nothing leaves until the arbiter answers")
    func backupLostDuringHandover() {
        // Given a handover under way, with a reply the backup has not acked
        var primary = protectedPrimary()
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        _ = primary.handle(.stopRequested, at: at(2))
        #expect(primary.standing == .handingOver)
        // When the channel closes, then the backup may be going live: release nothing, ask for the next epoch
        let lost = primary.handle(.channelClosed(backupChannel, .endOfStream), at: at(3))
        #expect(lost.releasedTags.isEmpty)
        #expect(lost.contains(.takeEpoch(2)))
        #expect(!lost.contains { if case .stop = $0 { true } else { false } })
        // And if the backup took it, the primary stops having released nothing
        let winner = EpochRecord(epoch: 2, claim: Claim(nodeName: "b", channelAddress: "", clientAddress: ""),
                                 takenAtMilliseconds: 0)
        let stopped = primary.handle(.arbiterAnswered(.took(.lost(to: winner))), at: at(4))
        #expect(stopped.releasedTags.isEmpty)
        #expect(stopped.contains(.stop(.lostEpoch(2, winner: "b"))))
    }

    @Test("an arbiter answer to another question is asked again, never waited on for ever")
    func unexpectedArbiterAnswerIsRetried() {
        var primary = protectedPrimary()
        _ = primary.handle(.channelClosed(backupChannel, .endOfStream), at: at(1))
        _ = primary.handle(.arbiterAnswered(.current(nil)), at: at(2))
        let retry = primary.handle(.timerFired, at: at(2) + primary.limits.arbiterRetryInterval)
        #expect(retry.contains(.takeEpoch(2)))
    }

    @Test("no tick is due while the unacked log is at its bound, and the timer is not due again at once")
    func noTickPastTheUnackedBound() {
        var limits = PrimaryLimits()
        limits.unackedEntriesLimit = 2
        var primary = protectedPrimary(limits: limits)
        _ = primary.handle(.commandsArrived([command(1), command(2)]), at: at(1))
        let sequence = primary.lastSequence
        let due = at(1) + limits.tickInterval
        _ = primary.handle(.timerFired, at: due)
        #expect(primary.lastSequence == sequence, "a tick entry was appended past the unacked bound")
        #expect((primary.nextWakeup ?? .zero) > due)
    }

    @Test("acks from another epoch are ignored")
    func staleAcks() {
        var primary = protectedPrimary()
        _ = primary.handle(.commandsArrived([command(1)]), at: at(1))
        let stale = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 0, received: 1, applied: 1)]), at: at(2))
        #expect(stale.releasedTags.isEmpty)
    }

    @Test("a hello never displaces a protecting backup whose channel is open: the newcomer is refused")
    func helloDoesNotDisplaceProtectingBackup() {
        // Given a primary protected by backup b on its channel
        var primary = protectedPrimary()
        let strayChannel: ChannelID = 31
        let stray = Hello(epoch: 1, nodeName: "b", channelAddress: "b:1", clientAddress: "b:2")
        // When another hello arrives on a new channel
        let actions = primary.handle(.backupJoined(strayChannel, stray), at: at(1))
        // Then the newcomer is refused and closed, and nothing goes to the old channel or the arbiter
        #expect(actions.contains { if case .send(strayChannel, .refuse) = $0 { true } else { false } })
        #expect(actions.contains(.close(strayChannel)))
        #expect(!actions.contains(.close(backupChannel)))
        #expect(!actions.contains { if case .takeEpoch = $0 { true } else { false } })
        #expect(!actions.sentFrames.contains { if case .checkpoint = $0 { true } else { false } })
        #expect(primary.standing == .protected)
        #expect(primary.backup?.channel == backupChannel)
        // And replies still wait for the protecting backup's ack
        let executed = primary.handle(.commandsArrived([command(1)]), at: at(2))
        #expect(executed.releasedTags.isEmpty)
        let acked = primary.handle(.framesArrived(backupChannel, [.ack(epoch: 1, received: 1, applied: 1)]), at: at(3))
        #expect(acked.releasedTags == [1])
    }

    @Test("once the protecting backup's channel closes, the next hello is served a checkpoint")
    func helloServedAfterTheOldChannelCloses() {
        var primary = protectedPrimary()
        _ = primary.handle(.channelClosed(backupChannel, .endOfStream), at: at(1))
        _ = primary.handle(.arbiterAnswered(.took(.granted(EpochRecord(
            epoch: 2, claim: Claim(nodeName: "a", channelAddress: "a:1", clientAddress: "a:2"),
            takenAtMilliseconds: 0)))), at: at(2))
        #expect(primary.standing == .solo)
        let joined = primary.handle(.backupJoined(31, backupHello), at: at(3))
        #expect(joined.sentFrames.contains { if case .checkpoint = $0 { true } else { false } })
        #expect(primary.backup?.channel == 31)
    }
}

@Suite("arbiter failure notes")
struct ArbiterFailureNoteTests {
    private func notes(_ actions: [PrimaryAction]) -> Int {
        actions.count { if case .note = $0 { true } else { false } }
    }

    @Test("a lasting arbiter failure is noted at the first retry, then once per note interval")
    func primaryNotesRateLimited() {
        var limits = PrimaryLimits()
        limits.arbiterFailureNoteInterval = .seconds(5)
        var primary = protectedPrimary(limits: limits)
        _ = primary.handle(.channelClosed(backupChannel, .endOfStream), at: at(0))
        var noted: [Int64] = []
        // Twelve seconds of an arbiter failing every retry: 240 failures.
        for milliseconds in stride(from: Int64(50), through: 12_000, by: 50) {
            let actions = primary.handle(.arbiterAnswered(.failed(.readOnly(path: "/arbiter"))), at: at(milliseconds))
            if notes(actions) > 0 { noted.append(milliseconds) }
        }
        #expect(noted == [50, 5_050, 10_050])
        var status = NodeStatus(role: .joining, nodeName: "a")
        primary.report(into: &status)
        #expect(status.reason.hasPrefix("waiting for the arbiter: "))
    }

    @Test("a new fault after a grant is noted at once")
    func noteResetsAfterGrant() {
        var primary = protectedPrimary()
        _ = primary.handle(.channelClosed(backupChannel, .endOfStream), at: at(0))
        _ = primary.handle(.arbiterAnswered(.failed(.readOnly(path: "/arbiter"))), at: at(1))
        let record = EpochRecord(epoch: 2, claim: Claim(nodeName: "a", channelAddress: "", clientAddress: ""),
                                 takenAtMilliseconds: 0)
        _ = primary.handle(.arbiterAnswered(.took(.granted(record))), at: at(2))
        #expect(primary.standing == .solo)
        _ = primary.handle(.backupJoined(backupChannel, backupHello), at: at(3))
        _ = primary.handle(
            .framesArrived(backupChannel, [.checkpointAck(epoch: 2, sequence: 0, chunkIndex: 0),
                                           .ack(epoch: 2, received: 0, applied: 0)]), at: at(3))
        _ = primary.handle(.channelClosed(backupChannel, .endOfStream), at: at(4))
        let failed = primary.handle(.arbiterAnswered(.failed(.readOnly(path: "/arbiter"))), at: at(5))
        #expect(notes(failed) == 1)
    }

    @Test("a repeated note is said at its first occurrence, then once per interval with the count held back")
    func repeatedNoteCounts() {
        var repeated = RepeatedNote(interval: .seconds(5))
        let said = stride(from: Int64(0), through: 9_999, by: 50).compactMap { repeated.occurred(at: at($0)) }
        #expect(said == [0, 99])
        #expect(repeated.occurrences == 200)
    }
}
