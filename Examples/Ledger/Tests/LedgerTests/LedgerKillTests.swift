import Glibc
import Ledger
import Testing

/// kill -9 of a real `ledger-server` primary under load: what proves the wiring (sockets, the arbiter directory,
/// the command line) around the logic the unit tests pin down.
@Suite(.serialized) struct LedgerKillTests {
    static let workerCount = 4
    static let accountsPerWorker = 4
    static let startingBalance: Int64 = 500
    /// Each way on the logging channel: what a reply released before its ack would gain, and so how wide the window
    /// is in which such a reply's entry dies with the primary. A reply that waits for its ack pays twice this.
    static let channelDelay: Duration = .milliseconds(5)

    @Test("killing the primary under load loses no acknowledged transfer, and no money")
    func killPrimaryUnderLoad() async throws {
        let clock = ContinuousClock()
        let testStart = clock.now
        let pair = try RunningLedgerPair.start(channelDelay: Self.channelDelay)
        defer { pair.stop() }
        let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(15))

        // Given clients that each own four funded accounts and transfer among them as fast as replies come,
        let workers = (0..<Self.workerCount).map { worker in
            TransferLoad.Worker(
                accounts: (0..<Self.accountsPerWorker).map { "w\(worker)a\($0)" },
                startingBalance: Self.startingBalance, seed: UInt64(worker + 1))
        }
        let setup = try LineClient(port: primary.clientPort)
        for account in workers.flatMap(\.accounts) {
            #expect(try setup.request("OPEN \(account)") == "OK")
            let deposit = try setup.request("DEPOSIT \(account) \(Self.startingBalance)")
            #expect(deposit.hasPrefix("OK \(Self.startingBalance) d"))
        }
        let load = try TransferLoad(port: primary.clientPort, workers: workers)
        defer { load.stop() }
        // Enough for every client to have acked many transfers; what the kill can lose is the last few ms' worth.
        let isLoaded = try await Harness.waitUntil(.seconds(30)) { load.ackedCount >= 500 }
        try #require(isLoaded, "only \(load.ackedCount) operations acked in 30 s\n\(pair.logTail())")

        // when the primary's process is killed outright,
        let killedAt = clock.now
        #expect(kill(primary.process.pid, SIGKILL) == 0)

        // then the backup serves within a few seconds,
        var servedAt: ContinuousClock.Instant?
        _ = try await Harness.waitUntil(.seconds(5)) {
            // A refused or failed probe only means "not yet".
            let reply = try? LineClient(port: backup.clientPort).request("BALANCE w0a0")
            if reply.flatMap({ Int64($0) }) != nil { servedAt = clock.now }
            return servedAt != nil
        }
        load.stop()
        let failover = try #require(servedAt.map { $0 - killedAt }, "the backup never served\n\(pair.logTail())")

        // with every acknowledged transfer in its balances and histories,
        let survivor = try LineClient(port: backup.clientPort)
        var total: Int64 = 0
        for worker in workers {
            #expect(worker.contradictions.isEmpty, "\(worker.contradictions.prefix(5))")
            var balances: [String: Int64] = [:]
            for account in worker.accounts {
                let balance = try #require(Int64(try survivor.request("BALANCE \(account)")))
                balances[account] = balance
                total += balance
            }
            #expect(balances == worker.model || balances == worker.modelWithUncertainApplied,
                "survivor \(balances), acked model \(worker.model), in flight \(String(describing: worker.uncertain))")
            for account in worker.accounts {
                let history = try survivor.request("HISTORY \(account) 100").split(separator: " ").dropFirst(2)
                let ids = Set(history.compactMap { HistoryEntry(text: $0)?.id })
                // The newest 99 of this account's acked transfers: the statement keeps 100 entries, and the
                // transfer in flight may have taken the newest place.
                let expected = worker.acked.filter { $0.from == account || $0.to == account }.suffix(99)
                let missing = expected.filter { !ids.contains($0.id) }
                #expect(missing.isEmpty, "\(account): \(missing.count) acked transfers missing, e.g. \(missing.first!)")
            }
        }
        // and all the money still there.
        #expect(total == Int64(Self.workerCount * Self.accountsPerWorker) * Self.startingBalance)

        let acked = workers.map(\.acked.count).reduce(0, +)
        print("ledger kill test: the backup served \(failover) after kill -9 of the primary; \(acked) transfers "
            + "acked before (\(load.ackedCount) operations); clients ended with: \(workers.map(\.endReason)); "
            + "whole test \(clock.now - testStart)")
    }
}

extension TransferLoad.Worker {
    /// The model with the in-flight transfer applied, had the ledger run it (and the payer could afford it).
    var modelWithUncertainApplied: [String: Int64] {
        guard let (from, to, amount) = uncertain, model[from]! >= amount else { return model }
        var applied = model
        applied[from]! -= amount
        applied[to]! += amount
        return applied
    }
}
