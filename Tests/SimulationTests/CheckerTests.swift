import LogChannel
import Testing

/// The checkers themselves, pinned down on small hand-made histories: a checker that cannot fail proves nothing.
@Suite("simulation checkers")
struct CheckerTests {
    // MARK: State checker

    @Test("a node holding another state at a sequence already seen has diverged")
    func divergenceAtOneSequence() {
        var checker = StateChecker()
        #expect(checker.observe(line: 1, sequence: 7, digest: 0xA) == nil)
        #expect(checker.observe(line: 1, sequence: 7, digest: 0xB)
            == StateChecker.Divergence(sequence: 7, expected: 0xA, actual: 0xB))
    }

    @Test("after a backup goes live, the old primary's entries past its go-live sequence are a dead branch")
    func deadBranchIsNotCompared() {
        var checker = StateChecker()
        #expect(checker.observe(line: 1, sequence: 10, digest: 0x10) == nil)   // old primary, 10 entries
        #expect(checker.observe(line: 1, sequence: 12, digest: 0x12) == nil)   // 11 and 12 never reached the backup
        checker.backupWentLive(epoch: 2, holdingThrough: 10)
        #expect(checker.observe(line: 2, sequence: 12, digest: 0x99) == nil)   // the new primary's own 12
        #expect(checker.observe(line: 1, sequence: 13, digest: 0x13) == nil)   // the old primary, still appending
        #expect(checker.observe(line: 2, sequence: 12, digest: 0x12) != nil)   // the history is the new primary's
    }

    @Test("a superseded line is still compared up to the go-live sequence")
    func sharedPrefixIsCompared() {
        var checker = StateChecker()
        #expect(checker.observe(line: 1, sequence: 10, digest: 0x10) == nil)
        checker.backupWentLive(epoch: 2, holdingThrough: 10)
        #expect(checker.observe(line: 2, sequence: 10, digest: 0xBAD) != nil)
        #expect(checker.observe(line: 1, sequence: 10, digest: 0xBAD) != nil)
    }

    // MARK: Linearizability checker

    @Test("a read that misses an append acked before the read was sent is not linearizable")
    func staleReadIsCaught() {
        var checker = LinearizabilityChecker()
        checker.invoked(.append(key: 0, token: 1), tag: 1, at: at(0))
        _ = checker.responded(tag: 1, with: TokenLog.Answer.appended(position: 1).encoded, at: at(1))
        checker.invoked(.read(key: 0), tag: 2, at: at(2))
        _ = checker.responded(tag: 2, with: TokenLog.Answer.read(count: 0, last: 0).encoded, at: at(3))
        #expect(checker.violations(finalLists: [[1], [], [], []]).count == 1)
    }

    @Test("a read concurrent with an append may see it or not")
    func concurrentReadMaySeeEither() {
        for seen in [TokenLog.Answer.read(count: 0, last: 0), .read(count: 1, last: 1)] {
            var checker = LinearizabilityChecker()
            checker.invoked(.append(key: 0, token: 1), tag: 1, at: at(0))
            checker.invoked(.read(key: 0), tag: 2, at: at(1))
            _ = checker.responded(tag: 2, with: seen.encoded, at: at(2))
            _ = checker.responded(tag: 1, with: TokenLog.Answer.appended(position: 1).encoded, at: at(3))
            #expect(checker.violations(finalLists: [[1], [], [], []]) == [])
        }
    }

    @Test("reads never go back, even without the final state")
    func readsAreMonotonic() {
        var checker = LinearizabilityChecker()
        checker.invoked(.append(key: 0, token: 1), tag: 1, at: at(0))
        checker.invoked(.read(key: 0), tag: 2, at: at(1))
        _ = checker.responded(tag: 2, with: TokenLog.Answer.read(count: 1, last: 1).encoded, at: at(2))
        checker.invoked(.read(key: 0), tag: 3, at: at(3))
        _ = checker.responded(tag: 3, with: TokenLog.Answer.read(count: 0, last: 0).encoded, at: at(4))
        #expect(checker.violations(finalLists: nil).count == 1)
    }

    @Test("a read of an append that a failover lost is not linearizable")
    func readOfLostAppendIsCaught() {
        var checker = LinearizabilityChecker()
        checker.invoked(.append(key: 0, token: 1), tag: 1, at: at(0))
        checker.lost(tag: 1)
        checker.invoked(.read(key: 0), tag: 2, at: at(1))
        _ = checker.responded(tag: 2, with: TokenLog.Answer.read(count: 1, last: 1).encoded, at: at(2))
        #expect(checker.violations(finalLists: nil) == [])
        #expect(checker.violations(finalLists: [[], [], [], []]).count == 1)
    }

    // MARK: Byte streams

    @Test("frames come out of a byte stream as written, however it is cut", arguments: [1, 2, 3, 29, 97])
    func streamSurvivesAnyCut(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let frames: [Frame] = (1...20).map { .entry(epoch: 3, sequence: $0, payload: Array(repeating: UInt8($0), count: Int($0))) }
            + [.ack(epoch: 3, received: 20, applied: 19), .heartbeat(epoch: 3, sequence: 20)]
        var stream = ByteStream()
        let bytes = stream.write(frames)
        var decoded: [Frame] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + 1 + Int(random.next() % 40))
            let received = stream.receive(Array(bytes[start..<end]))
            #expect(received.failure == nil && received.mismatches.isEmpty)
            decoded += received.frames
            start = end
        }
        #expect(decoded == frames)
    }

    private func at(_ milliseconds: UInt64) -> Instant { Instant(nanoseconds: milliseconds * 1_000_000) }
}
