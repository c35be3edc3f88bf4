import Testing
@testable import KeyValue
import Replication

/// SESSION OPEN, EXEC and CLOSE through the client protocol and the store, as a client library uses them: each
/// numbered request takes effect once, however often it is sent, on the primary and on a backup replaying the log.
@Suite("sessions: exactly-once requests")
struct SessionCommandTests {
    /// Opens a session on connection `client` and returns its id.
    static func open(_ node: inout ConnectedStore, client: UInt64 = 1) -> String {
        let reply = node.send(client, "SESSION", "OPEN")
        #expect(reply.hasPrefix(":"), "SESSION OPEN answers an id, not \(reply)")
        return reply.filter(\.isNumber)
    }

    @Test("a retried request returns the saved reply and does not apply again, from any connection")
    func retryIsAnsweredFromTheSavedReply() {
        var node = ConnectedStore()
        let id = Self.open(&node)
        #expect(node.send(1, "SESSION", "EXEC", id, "1", "INCR", "counter") == RESP.integer(1))
        #expect(node.send(1, "SESSION", "EXEC", id, "2", "APPEND", "log", "a") == RESP.integer(1))
        // The connection dropped; the client resends both on a new one.
        #expect(node.send(2, "SESSION", "EXEC", id, "1", "INCR", "counter") == RESP.integer(1))
        #expect(node.send(2, "SESSION", "EXEC", id, "2", "APPEND", "log", "a") == RESP.integer(1))
        #expect(node.send(2, "SESSION", "EXEC", id, "3", "INCR", "counter") == RESP.integer(2))
        #expect(node.send(3, "GET", "counter") == RESP.bulk("2"))
        #expect(node.send(3, "GET", "log") == RESP.bulk("a"))
    }

    @Test("a number that skips ahead, one older than the window, and an unknown session get their own errors")
    func errorsAreDistinct() {
        let limits = SessionLimits(window: 2, sessionsLimit: 10, replyBytesLimit: 1 << 20, idleTimeoutMilliseconds: 60_000)
        var node = ConnectedStore(sessionLimits: limits)
        let id = Self.open(&node)
        #expect(node.send(1, "SESSION", "EXEC", id, "2", "INCR", "n").hasPrefix("-SESSIONGAP request 2 of session"))
        for number in 1...3 { node.send(1, "SESSION", "EXEC", id, "\(number)", "INCR", "n") }
        #expect(node.send(1, "SESSION", "EXEC", id, "2", "INCR", "n") == RESP.integer(2), "2 and 3 are kept")
        #expect(node.send(1, "SESSION", "EXEC", id, "1", "INCR", "n").hasPrefix("-SESSIONSTALE request 1 of session"))
        #expect(node.send(1, "SESSION", "EXEC", "12345", "1", "INCR", "n").hasPrefix("-NOSESSION session 12345"))
        #expect(node.send(1, "GET", "n") == RESP.bulk("3"), "none of the refused requests was applied")
        #expect(node.send(1, "SESSION", "CLOSE", id) == RESP.ok)
        #expect(node.send(1, "SESSION", "EXEC", id, "4", "INCR", "n").hasPrefix("-NOSESSION"))
        #expect(node.send(1, "SESSION", "CLOSE", id).hasPrefix("-NOSESSION"))
    }

    @Test("syntax errors cost no number; a non-data command inside EXEC is refused and uses its number")
    func syntax() {
        var node = ConnectedStore()
        let id = Self.open(&node)
        #expect(node.send(1, "SESSION", "EXEC", id, "0", "GET", "k").hasPrefix("-ERR invalid request number"))
        #expect(node.send(1, "SESSION", "EXEC", "x", "1", "GET", "k").hasPrefix("-ERR invalid session id"))
        #expect(node.send(1, "SESSION", "EXEC", id, "1") == RESP.error("ERR wrong number of arguments for 'session|exec' command"))
        #expect(node.send(1, "SESSION", "OPEN", "extra") == RESP.error("ERR wrong number of arguments for 'session|open' command"))
        #expect(node.send(1, "SESSION", "NOPE").hasPrefix("-ERR unknown subcommand 'NOPE'. Try SESSION HELP."))
        #expect(node.send(1, "SESSION", "EXEC", id, "1", "PING") == RESP.error(
            "ERR SESSION EXEC runs data commands only, and 'PING' is not one"))
        #expect(node.send(1, "SESSION", "EXEC", id, "2", "GET") == RESP.error(
            "ERR wrong number of arguments for 'get' command"), "the error is the command's, saved like a reply")
        #expect(node.send(1, "SESSION", "EXEC", id, "3", "SET", "k", "v") == RESP.ok)
        #expect(node.send(1, "SESSION", "EXEC", id, "1", "PING").hasPrefix("-ERR SESSION EXEC runs data commands"))
    }

    @Test("a backup refuses SESSION as it refuses writes, naming the primary; MULTI refuses it")
    func refusals() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        #expect(node.send(1, "SESSION", "OPEN") == RESP.error("ERR Command not allowed inside a transaction"))
        node.send(1, "DISCARD")
        node.status.role = .backup
        #expect(node.send(2, "SESSION", "OPEN").hasPrefix("-READONLY"))
        #expect(node.send(2, "SESSION", "EXEC", "1", "1", "INCR", "n").hasPrefix("-READONLY"))
        #expect(node.log.isEmpty, "nothing reached the log")
    }

    @Test("a backup replaying the log saves the same replies: a retry after a failover is answered, not applied")
    func retryOnTheNewPrimary() throws {
        var node = ConnectedStore()
        let id = Self.open(&node)
        for number in 1...5 { node.send(1, "SESSION", "EXEC", id, "\(number)", "INCR", "n") }
        var backup = KeyValueStore()
        let (_, divergence) = replay(node.log, into: &backup)
        #expect(divergence == nil)
        #expect(backup.digest() == node.primary.store.digest())
        // The backup takes over; the client resends 4 and 5, whose replies it never saw, then goes on.
        var promoted = StoreDriver()
        promoted.store = backup
        promoted.entropy = node.primary.entropy
        #expect(promoted.run("SESSION", "EXEC", id, "4", "INCR", "n") == RESP.integer(4))
        #expect(promoted.run("SESSION", "EXEC", id, "5", "INCR", "n") == RESP.integer(5))
        #expect(promoted.run("SESSION", "EXEC", id, "6", "INCR", "n") == RESP.integer(6))
        // And through a snapshot (re-protection, a restart from disk): the same.
        var restored = try KeyValueStore.restored(from: node.primary.store.encoded(byteLimit: 7), chunkBytes: 5)
        #expect(restored.digest() == node.primary.store.digest())
        var context = ApplyContext.replaying([.clock(node.primary.entropy.clockNanoseconds)])
        let reply = restored.apply(KeyValueCommand.encode(["SESSION", "EXEC", id, "5", "INCR", "n"].map(bytes)), context: &context)
        #expect(text(reply) == RESP.integer(5))
    }

    @Test("idle sessions expire on the recorded clock at a tick, alike on a replaying backup")
    func idleExpiry() {
        let limits = SessionLimits(window: 4, sessionsLimit: 10, replyBytesLimit: 1 << 20, idleTimeoutMilliseconds: 1_000)
        var node = ConnectedStore(sessionLimits: limits)
        let idle = Self.open(&node)
        let busy = Self.open(&node, client: 2)
        node.primary.advance(milliseconds: 600)
        node.send(2, "SESSION", "EXEC", busy, "1", "SET", "k", "v")
        node.primary.advance(milliseconds: 600)
        node.primary.tick()
        #expect(node.primary.store.sessions.count == 1, "the idle one expired at the tick, the busy one did not")
        #expect(node.send(1, "SESSION", "EXEC", idle, "1", "SET", "k", "w").hasPrefix("-NOSESSION"))
        #expect(node.send(2, "SESSION", "EXEC", busy, "2", "GET", "k") == RESP.bulk("v"))
        var backup = KeyValueStore()
        #expect(replay(node.log, into: &backup).divergence == nil)
        #expect(backup.sessions == node.primary.store.sessions)
        #expect(backup.digest() == node.primary.store.digest())
    }

    @Test("past the session bound the least recently used is evicted; past the byte bound too, alike on a backup")
    func eviction() {
        let limits = SessionLimits(window: 8, sessionsLimit: 3, replyBytesLimit: 64, idleTimeoutMilliseconds: 60_000)
        var node = ConnectedStore(sessionLimits: limits)
        let ids = (1...3).map { Self.open(&node, client: UInt64($0)) }
        node.send(1, "SESSION", "EXEC", ids[0], "1", "SET", "a", "1")  // ids[1] is now the least recently used
        let fourth = Self.open(&node, client: 4)
        #expect(node.send(2, "SESSION", "EXEC", ids[1], "1", "SET", "b", "1").hasPrefix("-NOSESSION"))
        #expect(node.send(1, "SESSION", "EXEC", ids[0], "1", "SET", "a", "1") == RESP.ok)
        // 40 bytes of reply twice exceed 64: the least recently used other sessions go (ids[2], then the fourth).
        node.send(1, "SET", "big", String(repeating: "x", count: 33))
        #expect(node.send(4, "SESSION", "EXEC", fourth, "1", "GET", "big").utf8.count == 40)
        #expect(node.send(1, "SESSION", "EXEC", ids[0], "2", "GET", "big").utf8.count == 40)
        #expect(node.primary.store.sessions.replyBytes <= 64)
        #expect(node.send(4, "SESSION", "EXEC", fourth, "2", "GET", "a").hasPrefix("-NOSESSION"),
            "the session evicted for bytes was the one not used last")
        var backup = KeyValueStore()
        #expect(replay(node.log, into: &backup).divergence == nil)
        #expect(backup.sessions == node.primary.store.sessions)
        #expect(backup.digest() == node.primary.store.digest())
    }

    @Test("sessions change the digest, so a backup that lost one is caught diverging")
    func digestCoversSessions() {
        var node = ConnectedStore()
        let before = node.primary.store.digest()
        let id = Self.open(&node)
        let opened = node.primary.store.digest()
        #expect(opened != before)
        node.send(1, "SESSION", "EXEC", id, "1", "GET", "missing")
        #expect(node.primary.store.digest() != opened, "a saved reply is state")
        node.send(1, "SESSION", "CLOSE", id)
        #expect(node.primary.store.digest() == before)
    }
}
