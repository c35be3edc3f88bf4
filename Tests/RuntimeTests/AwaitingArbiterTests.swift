import Glibc
import Node
import Posix
import Replication
import Testing

@testable import Runtime

/// A protected primary that loses its backup while the arbiter is away: it may not release output or execute, but
/// it must keep answering what needs no log, and finish the waiting writes once the arbiter grants it the epoch.
@Suite("awaiting the arbiter", .serialized)
struct AwaitingArbiterTests {
    @Test(
        "with the arbiter away and the backup lost, the primary answers PING and INFO and its writes wait, then complete",
        .timeLimit(.minutes(1)))
    func answerableWhileAwaitingArbiter() throws {
        let pair = try Pair.start()
        let away = pair.directory.path + ".away"
        defer {
            rename(away, pair.directory.path)  // no-op once restored; `shutDown` removes the directory
            pair.shutDown()
        }
        let early = try RESPClient(pair.primary.clientAddress)
        #expect(try early.command("SET", "before", "1") == .simple("OK"))

        // Given: the arbiter directory gone (every arbiter call fails), then the backup killed.
        #expect(rename(pair.directory.path, away) == 0)
        pair.backup.crash()
        let errors = { pair.primary.status.counters["arbiter_errors_directory_missing"] ?? 0 }
        #expect(Waiting.until(.seconds(5)) { errors() >= 1 })
        let notesAtFirstError = pair.primary.events.notes

        // When: a client pipelines a write and a PING behind it, and another client asks PING and INFO.
        let writer = try RESPClient(pair.primary.clientAddress)
        try writer.send(["SET", "during", "2"])
        try writer.send(["PING"])
        // Then: local requests are answered (the client gives up after 2 s), and INFO says why data commands wait.
        let asker = try RESPClient(pair.primary.clientAddress, timeout: .seconds(2))
        #expect(try asker.command("PING") == .simple("PONG"))
        let info = try asker.command("INFO", "replication")
        guard case .bulk(let text?) = info else {
            Issue.record("INFO answered \(info)")
            return
        }
        #expect(text.contains("lockstep_reason:waiting for the arbiter: "))
        #expect(pair.primary.status.reason.hasPrefix("waiting for the arbiter: "))

        // The fault lasts: the arbiter fails every 50 ms, and the log says so at most a line or two.
        #expect(Waiting.until(.seconds(5)) { errors() >= 20 })
        #expect(pair.primary.events.notes - notesAtFirstError <= 2)
        #expect(pair.primary.role == .primary)

        // When the arbiter is back: the primary goes solo, the waiting write and the PING behind it are answered.
        #expect(rename(away, pair.directory.path) == 0)
        #expect(Waiting.until(.seconds(5)) { pair.primary.role == .solo })
        #expect(try writer.readReply() == .simple("OK"))
        #expect(try writer.readReply() == .simple("PONG"))
        #expect(try asker.command("GET", "during") == .bulk("2"))
        #expect(try asker.command("GET", "before") == .bulk("1"))
    }
}

extension [RuntimeEvent] {
    /// How many free-form notes the node logged.
    var notes: Int { count { if case .note = $0 { true } else { false } } }
}
