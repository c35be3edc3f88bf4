import Ledger
import Lockstep
import Testing

/// The ledger as a state machine: what each command does, and that a backup replaying the primary's recorded values
/// ends up in the very same state.
@Suite struct LedgerTests {
    /// A pair with alice (100) and bob (0).
    static func aliceAndBob() -> LedgerPair {
        var pair = LedgerPair()
        pair.run("OPEN alice")
        pair.run("OPEN bob")
        pair.run("DEPOSIT alice 100")
        return pair
    }

    @Test("a transfer moves the money and replies with the payer's new balance and an id")
    func transferMovesMoney() {
        var pair = Self.aliceAndBob()
        let reply = pair.run("TRANSFER alice bob 30")
        #expect(reply.hasPrefix("OK 70 t"))
        #expect(pair.run("BALANCE alice") == "70")
        #expect(pair.run("BALANCE bob") == "30")
        #expect(pair.primary.totalMoney == 100)
    }

    @Test("the id and timestamp of a transfer come from the recorded randomness and clock")
    func transferIdentityIsRecorded() throws {
        var pair = Self.aliceAndBob()
        var expected = pair.entropy
        let (at, random) = (expected.wallClockNanoseconds() / 1_000_000, expected.randomValue())
        let id = try #require(pair.run("TRANSFER alice bob 30").split(separator: " ").last.map(String.init))
        #expect(id.hasSuffix("-" + String(random, radix: 16).leftPadded(to: 16)))
        let newest = try #require(pair.run("HISTORY bob 1").split(separator: " ").last)
        #expect(HistoryEntry(text: newest) == HistoryEntry(id: id, amount: 30, what: "from:alice", atMilliseconds: at))
    }

    @Test("the backup replaying the recorded values gives the same replies and the same digest")
    func replayIsDeterministic() {
        var pair = Self.aliceAndBob()
        for round in 0..<50 {
            pair.entropy.advance(milliseconds: 7)
            pair.run(round.isMultiple(of: 2) ? "TRANSFER alice bob \(round + 1)" : "TRANSFER bob alice \(round)")
            if round.isMultiple(of: 10) { pair.run("HOLD alice 5 1") }
            pair.tick()
        }
        #expect(pair.mismatches.isEmpty)
        #expect(pair.primary == pair.backup)
        #expect(pair.primary.digest() == pair.backup.digest())
        #expect(pair.primary.encoded() == pair.backup.encoded())
    }

    @Test("the digest depends on the contents, not on the order accounts were opened")
    func digestIgnoresInsertionOrder() {
        var first = LedgerPair(), second = LedgerPair()
        for name in ["alice", "bob", "carol", "dave"] { first.run("OPEN \(name)") }
        for name in ["dave", "carol", "bob", "alice"] { second.run("OPEN \(name)") }
        #expect(first.primary.digest() == second.primary.digest())
        second.run("OPEN erin")
        #expect(first.primary.digest() != second.primary.digest())
    }

    @Test("a transfer without the funds changes nothing and records nothing")
    func insufficientFunds() {
        var pair = Self.aliceAndBob()
        let before = pair.primary
        var context = ApplyContext.recording(from: pair.entropy)
        let reply = pair.primary.execute(.transfer(from: "alice", to: "bob", amount: 101), context: &context)
        #expect(reply == "ERR insufficient funds")
        #expect(context.recorded.isEmpty)
        #expect(pair.primary == before)
    }

    @Test("commands on accounts that do not exist, or that exist already, are errors that change nothing")
    func accountErrors() {
        var pair = Self.aliceAndBob()
        let digest = pair.primary.digest()
        #expect(pair.run("OPEN alice") == "ERR account alice exists")
        #expect(pair.run("TRANSFER alice carol 1") == "ERR no such account carol")
        #expect(pair.run("BALANCE carol") == "ERR no such account carol")
        #expect(pair.run("RELEASE h9-0000000000000000").hasPrefix("ERR no pending hold"))
        #expect(pair.primary.digest() == digest)
    }

    @Test("a deposit that would take an account past the balance limit is refused")
    func balanceLimit() {
        var limits = LedgerLimits()
        limits.balanceLimit = 150
        var ledger = Ledger(limits: limits)
        var context = ApplyContext.recording(from: SeededEntropy(seed: 1))
        _ = ledger.execute(.open(account: "alice"), context: &context)
        #expect(ledger.execute(.deposit(account: "alice", amount: 100), context: &context).hasPrefix("OK 100 "))
        #expect(ledger.execute(.deposit(account: "alice", amount: 51), context: &context)
            == "ERR account alice would hold more than 150")
    }

    @Test("a hold sets money aside until it expires on the tick after its time, by the recorded clock")
    func holdExpiresByRecordedClock() {
        var pair = Self.aliceAndBob()
        #expect(pair.run("HOLD alice 40 2").hasPrefix("OK 60 h"))
        #expect(pair.run("TRANSFER alice bob 61") == "ERR insufficient funds")
        pair.entropy.advance(milliseconds: 1_999)
        pair.tick()
        #expect(pair.run("BALANCE alice") == "60")
        pair.entropy.advance(milliseconds: 1)
        pair.tick()
        #expect(pair.run("BALANCE alice") == "100")
        #expect(pair.run("HISTORY alice 1").contains(",+40,expired,"))
        #expect(pair.mismatches.isEmpty)
        #expect(pair.primary == pair.backup)
    }

    @Test("a released hold returns its money at once, and only once")
    func releaseHold() throws {
        var pair = Self.aliceAndBob()
        let id = try #require(pair.run("HOLD alice 40 60").split(separator: " ").last)
        #expect(pair.run("RELEASE \(id)") == "OK 100")
        #expect(pair.run("RELEASE \(id)").hasPrefix("ERR no pending hold"))
        #expect(pair.primary.totalMoney == 100)
    }

    @Test("a tick with no holds pending reads nothing, so an idle ledger's ticks record nothing")
    func idleTickRecordsNothing() {
        var ledger = Ledger()
        var context = ApplyContext.recording(from: SeededEntropy(seed: 1))
        ledger.tick(context: &context)
        #expect(context.recorded.isEmpty)
    }

    @Test("history keeps the newest entries up to its limit, newest first")
    func historyIsBounded() throws {
        var limits = LedgerLimits()
        limits.historyEntriesLimit = 3
        var ledger = Ledger(limits: limits)
        var context = ApplyContext.recording(from: SeededEntropy(seed: 1))
        _ = ledger.execute(.open(account: "alice"), context: &context)
        for amount in 1...5 { _ = ledger.execute(.deposit(account: "alice", amount: Int64(amount)), context: &context) }
        let words = ledger.execute(.history(account: "alice", count: 3), context: &context).split(separator: " ")
        #expect(words.first == "OK" && words.dropFirst().first == "3")
        #expect(words.dropFirst(2).compactMap { HistoryEntry(text: $0)?.amount } == [5, 4, 3])
    }

    @Test("a snapshot restores to an equal ledger that goes on the same way")
    func snapshotRoundTrip() throws {
        var pair = Self.aliceAndBob()
        pair.run("TRANSFER alice bob 30")
        pair.run("HOLD bob 10 60")
        var restored = Ledger()
        try restored.restore(from: pair.primary.encoded())
        #expect(restored == pair.primary)
        #expect(restored.digest() == pair.primary.digest())

        var context = ApplyContext.replaying([])
        pair.run("OPEN carol")
        _ = restored.apply(Array("OPEN carol".utf8), context: &context)
        #expect(restored.digest() == pair.primary.digest())
    }

    @Test("a truncated snapshot is refused at every length and leaves the ledger as it was")
    func truncatedSnapshot() {
        let snapshot = Self.aliceAndBob().primary.encoded()
        var ledger = Self.aliceAndBob().backup
        let before = ledger
        for length in 0..<snapshot.count {
            #expect(throws: SnapshotError.self) { try ledger.restore(from: Array(snapshot.prefix(length))) }
        }
        #expect(throws: SnapshotError.self) { try ledger.restore(from: snapshot + [0]) }
        #expect(ledger == before)
    }

    @Test("a snapshot with a negative balance or a count past a limit is refused")
    func corruptSnapshot() {
        var snapshot = Self.aliceAndBob().primary.encoded()
        // Layout: version, sequence, account count, then "alice" (length, 5 bytes), then her balance.
        let balanceOffset = 8 + 8 + 8 + 8 + 5
        snapshot[balanceOffset + 7] = 0x80
        var ledger = Ledger()
        #expect(throws: SnapshotError.self) { try ledger.restore(from: snapshot) }
        var huge = Self.aliceAndBob().primary.encoded()
        huge[8 + 8 + 7] = 0x7F  // the account count
        #expect(throws: SnapshotError.self) { try ledger.restore(from: huge) }
    }
}

extension String {
    /// The string with zeros in front up to `width` characters.
    func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
