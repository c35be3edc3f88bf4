import Testing
@testable import Replication

struct FixedSource: EntropySource {
    var clock: Int64 = 1_700_000_000_000_000_000
    var random: UInt64 = 42
    mutating func wallClockNanoseconds() -> Int64 { clock += 1_000; return clock }
    mutating func randomValue() -> UInt64 { random = random &* 6364136223846793005 &+ 1; return random }
}

@Suite("log entries and recorded nondeterminism")
struct LogEntryTests {
    @Test("every entry kind survives encode and decode")
    func roundTrip() throws {
        let entries: [LogEntry] = [
            .command(Array("SET k v".utf8), recorded: [.clock(-5), .random(.max)]),
            .command(Array("EXEC".utf8), recorded: [.clock(9), .observation(1)]),
            .command([], recorded: []),
            .tick(recorded: [.clock(123)]),
            .digest(0xDEAD_BEEF_CAFE_F00D),
        ]
        for entry in entries {
            #expect(try LogEntry(decoding: entry.encoded) == entry)
            #expect(entry.encoded.count == entry.encodedByteCount)
        }
    }

    @Test("a command decoded from bytes handed over keeps their storage; from bytes still held, it leaves them alone")
    func commandKeepsHandedOverStorage() throws {
        let command = Array("SET key value".utf8)
        let payload = LogEntry.command(command, recorded: [.clock(1)]).encoded
        let storage = payload.withUnsafeBufferPointer { $0.baseAddress }
        let decoded = try LogEntry(decoding: consume payload)
        #expect(decoded == .command(command, recorded: [.clock(1)]))
        guard case .command(let bytes, _) = decoded else { return }
        #expect(bytes.withUnsafeBufferPointer { $0.baseAddress } == storage)

        let held = LogEntry.command(command, recorded: []).encoded
        let copy = held
        #expect(try LogEntry(decoding: copy) == .command(command, recorded: []))
        #expect(held == LogEntry.command(command, recorded: []).encoded)
    }

    @Test("a truncated or unknown entry is a typed error, never a guess")
    func corruptEntries() {
        #expect(throws: LogEntryError.empty) { try LogEntry(decoding: []) }
        #expect(throws: LogEntryError.unknownKind(9)) { try LogEntry(decoding: [9, 0, 0]) }
        var digest = LogEntry.digest(7).encoded
        digest.removeLast()
        #expect(throws: LogEntryError.truncated(needed: 11, available: 10)) { try LogEntry(decoding: digest) }
        #expect(throws: LogEntryError.unknownRecordedTag(7)) { try LogEntry(decoding: [2, 1, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0]) }
    }

    @Test("replay returns exactly what recording read")
    func replayMatchesRecording() {
        var recording = ApplyContext.recording(from: FixedSource())
        let seen = (recording.wallClockNanoseconds(), recording.randomValue(), recording.wallClockNanoseconds())
        var replay = ApplyContext.replaying(recording.recorded)
        let replayed = (replay.wallClockNanoseconds(), replay.randomValue(), replay.wallClockNanoseconds())
        replay.finishReplay()
        #expect(seen == replayed)
        #expect(replay.divergence == nil)
    }

    @Test("a frozen clock is read and recorded once, and replay freezes alike")
    func frozenClock() {
        var recording = ApplyContext.recording(from: FixedSource())
        recording.freezeClock()
        let first = recording.wallClockNanoseconds(), second = recording.wallClockNanoseconds()
        recording.thawClock()
        let after = recording.wallClockNanoseconds()
        #expect(first == second)
        #expect(after != first)
        #expect(recording.recorded.count == 2)
        var replay = ApplyContext.replaying(recording.recorded)
        replay.freezeClock()
        #expect(replay.wallClockNanoseconds() == first)
        #expect(replay.wallClockNanoseconds() == first)
        replay.thawClock()
        #expect(replay.wallClockNanoseconds() == after)
        replay.finishReplay()
        #expect(replay.divergence == nil)
    }

    @Test("an observation is judged and recorded on the primary, and replayed on the backup without judging")
    func observationReplayed() {
        var recording = ApplyContext.recording(from: FixedSource())
        #expect(recording.observed { 7 } == 7)
        var replay = ApplyContext.replaying(recording.recorded)
        var judged = false
        #expect(replay.observed { judged = true; return 0 } == 7)
        #expect(!judged)
        var missing = ApplyContext.replaying([.clock(1)])
        _ = missing.observed { 1 }
        #expect(missing.divergence != nil)
    }

    @Test("replay that asks for an unrecorded value reports divergence")
    func replayDivergence() {
        var missing = ApplyContext.replaying([.clock(1)])
        _ = missing.wallClockNanoseconds()
        _ = missing.randomValue()
        #expect(missing.divergence != nil)

        var wrongKind = ApplyContext.replaying([.random(1)])
        _ = wrongKind.wallClockNanoseconds()
        #expect(wrongKind.divergence != nil)

        var leftover = ApplyContext.replaying([.random(1), .random(2)])
        _ = leftover.randomValue()
        leftover.finishReplay()
        #expect(leftover.divergence != nil)
    }
}
