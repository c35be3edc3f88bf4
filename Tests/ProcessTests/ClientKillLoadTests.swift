import Glibc
import LockstepClient
import Posix
import Synchronization
import Testing

extension ProcessTests {
/// The library's promise over real processes: kill -9 (or SIGSTOP) of the primary, under INCR and APPEND load
/// from many tasks sharing one client, costs the callers only latency. Among the process tests, so it never runs
/// beside another (a machine busy with one would starve its deadlines).
@Suite("LockstepClient across kill -9 and SIGSTOP of the primary")
struct ClientKillLoad {
    static let kills = getenv("LOCKSTEP_SOAK") != nil ? 100 : 10
    static let tasks = 8

    /// What the load tasks did, shared with the test.
    final class LoadRecord: Sendable {
        let increments = Atomic<Int>(0)
        let tokens = Mutex<[String]>([])
        let errors = Mutex<[String]>([])
        /// Requests answered with a reply: the progress the test waits for.
        let answered = Atomic<Int>(0)
        let isStopRequested = Atomic<Bool>(false)
        var completed: Int { answered.load(ordering: .relaxed) }
    }

    @Test("INCR and APPEND through the client while the primary is killed: each applied exactly once, no caller error")
    func exactlyOnceAcrossKills() async throws {
        let nodes = try NodeProcesses("client-kill")
        defer { nodes.stopAll(); nodes.removeDirectory() }
        try nodes.start(0)
        try nodes.start(1)
        var primary = try await nodes.waitForProtectedPrimary(deadline: .seconds(60))
        var configuration = LockstepClientConfiguration()
        configuration.password = nodes.password
        let client = try LockstepClient(addresses: nodes.clients.map(\.description), configuration: configuration)
        let record = LoadRecord()
        let load = Task { await Self.runLoad(client, record) }
        defer { record.isStopRequested.store(true, ordering: .relaxed) }  // also when a wait below throws

        let clock = ContinuousClock()
        let started = clock.now
        var failovers: [Duration] = []
        for kill in 1...Self.kills {
            // Given load flowing through the client,
            let before = record.completed
            let clock = ContinuousClock()
            let waitEnd = clock.now + .seconds(30)
            while record.completed < before + 200, clock.now < waitEnd { try await Task.sleep(for: .milliseconds(5)) }
            #expect(record.completed >= before + 200, "kill \(kill): the load stalled at \(record.completed)\n\(nodes.logs)")
            // when the primary is killed outright and restarted,
            let killedAt = clock.now
            try nodes.kill(primary)
            let atKill = record.completed
            while record.completed == atKill, clock.now < killedAt + .seconds(30) { try await Task.sleep(for: .milliseconds(2)) }
            failovers.append(clock.now - killedAt)
            try nodes.start(primary)
            // then the other serves, and the restarted one protects it again before the next kill.
            let next = try await nodes.waitForProtectedPrimary(deadline: .seconds(60))
            #expect(next != primary, "kill \(kill): the killed node came back as primary")
            primary = next
        }
        record.isStopRequested.store(true, ordering: .relaxed)
        await load.value

        let errors = record.errors.withLock { $0 }
        #expect(errors.isEmpty, "\(errors.count) requests surfaced an error, e.g. \(errors.prefix(3))\n\(nodes.logs)")
        let increments = record.increments.load(ordering: .relaxed)
        let counter = try await client.send(["GET", "counter"])
        #expect(counter.text == String(increments), "\(increments) INCRs issued, counter \(counter)")
        let appended = try await client.send(["GET", "tokens"]).text ?? ""
        let counts = tokenCounts(appended)
        let issued = record.tokens.withLock { $0 }
        let wrong = issued.filter { counts[$0] != 1 }
        #expect(wrong.isEmpty, "\(wrong.count) tokens not there exactly once, e.g. \(wrong.prefix(3).map { ($0, counts[$0] ?? 0) })")
        #expect(counts.count == issued.count, "\(counts.count) distinct tokens stored, \(issued.count) appended")
        await client.close()
        let sorted = failovers.sorted()
        print("LockstepClient: \(Self.kills) kills of the primary in \(clock.now - started), \(increments) INCRs and "
            + "\(issued.count) APPENDs; answers resumed after median \(sorted[sorted.count / 2]), "
            + "max \(sorted.last!)")
    }

    @Test("a frozen primary is left after the reply silence: the load goes on at the new primary, each request once")
    func frozenPrimaryIsLeft() async throws {
        let nodes = try NodeProcesses("client-freeze")
        defer { nodes.stopAll(); nodes.removeDirectory() }
        try nodes.start(0)
        try nodes.start(1)
        let primary = try await nodes.waitForProtectedPrimary(deadline: .seconds(60))
        var configuration = LockstepClientConfiguration()
        configuration.password = nodes.password
        configuration.replySilenceTimeout = .milliseconds(800)
        let client = try LockstepClient(addresses: nodes.clients.map(\.description), configuration: configuration)
        let record = LoadRecord()
        let load = Task { await Self.runLoad(client, record) }
        defer { record.isStopRequested.store(true, ordering: .relaxed) }
        let clock = ContinuousClock()
        let loaded = clock.now + .seconds(30)
        while record.completed < 200, clock.now < loaded { try await Task.sleep(for: .milliseconds(5)) }

        // Given requests in flight at a primary that stops dead without closing its connections,
        try nodes.signal(primary, SIGSTOP)
        let frozenAt = clock.now
        let atFreeze = record.completed
        // when the backup has taken over, then the client leaves the silent node and the load resumes there.
        while record.completed < atFreeze + 200, clock.now < frozenAt + .seconds(30) {
            try await Task.sleep(for: .milliseconds(5))
        }
        let resumed = clock.now - frozenAt
        #expect(record.completed >= atFreeze + 200, "the load did not resume after the freeze\n\(nodes.logs)")
        try nodes.signal(primary, SIGCONT)
        record.isStopRequested.store(true, ordering: .relaxed)
        await load.value

        let errors = record.errors.withLock { $0 }
        #expect(errors.isEmpty, "\(errors.count) requests surfaced an error, e.g. \(errors.prefix(3))\n\(nodes.logs)")
        let increments = record.increments.load(ordering: .relaxed)
        let counter = try await client.send(["GET", "counter"])
        #expect(counter.text == String(increments), "\(increments) INCRs issued, counter \(counter)")
        let counts = tokenCounts(try await client.send(["GET", "tokens"]).text ?? "")
        let issued = record.tokens.withLock { $0 }
        #expect(issued.allSatisfy { counts[$0] == 1 } && counts.count == issued.count)
        await client.close()
        print("LockstepClient: 200 answers after a SIGSTOP of the primary took \(resumed) (reply silence 800 ms)")
    }

    /// `tasks` tasks, each alternating INCR counter and APPEND tokens <task.index>, until asked to stop. An INCR
    /// or token counts as issued when sent, whatever the outcome, so a double apply or a loss shows in the totals.
    static func runLoad(_ client: LockstepClient, _ record: LoadRecord) async {
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var index = 0
                    while !record.isStopRequested.load(ordering: .relaxed) {
                        let token = "<\(task).\(index)>"
                        index += 1
                        do throws(LockstepClientError) {
                            record.increments.add(1, ordering: .relaxed)
                            let count = try await client.send(["INCR", "counter"])
                            record.answered.add(1, ordering: .relaxed)
                            if count.integer == nil { record.errors.withLock { $0.append("INCR answered \(count)") } }
                            record.tokens.withLock { $0.append(token) }
                            let length = try await client.send(["APPEND", "tokens", token])
                            record.answered.add(1, ordering: .relaxed)
                            if length.integer == nil { record.errors.withLock { $0.append("APPEND answered \(length)") } }
                        } catch {
                            record.errors.withLock { $0.append(error.description) }
                        }
                    }
                }
            }
        }
    }
}
}
